/**
 * Messages of the `governedCompletion` workflow for streamed requests. The gateway starts the workflow
 * with the `admission` update (update-with-start), streams from Groq itself so tokens never pass
 * through history, then reports what happened with the `streamFinished` signal.
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AttemptRef, StreamOutcome } from '../activities/completion/types';
import type { ApiErrorBody } from '../domain/api-errors';

export type StreamAdmission =
  | { admitted: true; attempt: AttemptRef; maxCompletionTokens: number }
  | { admitted: false; status: number; error: ApiErrorBody; retryAfterSeconds?: number };

export type { StreamOutcome };

export const admissionUpdate = defineUpdate<StreamAdmission>('admission');
export const streamFinishedSignal = defineSignal<[StreamOutcome]>('streamFinished');
