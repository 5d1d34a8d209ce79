/**
 * Messages of the `governedCompletion` workflow for streamed requests. The gateway learns the
 * admission from the `admission` update (update-with-start; or, where it shares a process with the
 * worker that started the workflow eagerly, from the authorize step itself: domain/handoff-board.ts),
 * streams from Groq itself so tokens never pass through history, then reports what happened with the
 * `streamFinished` signal.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StreamAdmission, StreamOutcome } from '../activities/completion/types';

export type { StreamAdmission, StreamOutcome };

export const admissionUpdate = defineUpdate<StreamAdmission>('admission');
export const streamFinishedSignal = defineSignal<[StreamOutcome]>('streamFinished');
