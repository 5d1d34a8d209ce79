/**
 * The workflow type the gateway starts for a chat completion, and its messages for streamed requests. The gateway learns the
 * admission from the `admission` update (update-with-start; or, where it shares a process with the
 * worker that started the workflow eagerly, from the authorize step itself: domain/handoff-board.ts),
 * streams from Groq itself so tokens never pass through history, then reports what happened with the
 * `streamFinished` signal.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { StreamAdmission, StreamOutcome } from '../activities/completion/types';

export type { StreamAdmission, StreamOutcome };

/**
 * `governedCompletionV2`: today's steps with no patch markers (workflows/governed-completion.ts). Runs
 * of `governedCompletion`, the type started before it, keep running on the same workers.
 */
export const GOVERNED_COMPLETION_TYPE = 'governedCompletionV2';

export const admissionUpdate = defineUpdate<StreamAdmission>('admission');
export const streamFinishedSignal = defineSignal<[StreamOutcome]>('streamFinished');
