/**
 * The inputs and results of the governed-completion activities. Only names, ids, numbers and the
 * request body (encrypted by the payload codec) cross into workflow history: never a key secret.
 */
import type { ApiErrorBody, Refusal } from '../../domain/api-errors';
import type { ChatRequest } from '../../domain/chat-request';
import type { HandoffBoard } from '../../domain/handoff-board';

export interface PolicyInput {
  requestId: string;
  gatewayKeyId: string;
  model: string;
  maxCompletionTokens?: number;
  /** batch items are checked against batches.create, interactive requests against completions.create */
  interactive: boolean;
}

export type PolicyResult =
  | {
      ok: true;
      team: string;
      model: string;
      /** the allowance for this call: the request's, or the team cap when the request names none */
      maxCompletionTokens: number;
      upstreamKey: string;
      /** the budget period (calendar month in the org's time zone) this request is charged to */
      period: string;
    }
  | { ok: false; refusal: Refusal };

export interface ReserveInput {
  requestId: string;
  attempt: number;
  team: string;
  period: string;
  model: string;
  promptTokenBound: number;
  maxCompletionTokens: number;
  batch: boolean;
}

export type ReserveResult =
  { ok: true; reservationId: string; amountNanos: string } | { ok: false; refusal: Refusal };

/**
 * The first attempt's three decisions in one step: policy, the budget reservation of the worst case
 * and admission by the shared rate limiter, decided in one ledger transaction.
 */
export interface AuthorizeInput extends PolicyInput {
  /** a streamed request: its admission is also announced to a gateway waiting in this process */
  stream?: boolean;
  /** the attempt whose reservation and lease this step makes */
  attempt: number;
  /** upper bound of the prompt's tokens (the reservation's worst case) */
  promptTokenBound: number;
  /** estimate of the prompt's tokens (admission counts it plus the completion allowance) */
  promptTokenEstimate: number;
}

export type AuthorizeResult =
  | {
      ok: true;
      policy: Extract<PolicyResult, { ok: true }>;
      reservationId: string;
      /** tokens admission counted: the prompt estimate plus the completion allowance */
      tokens: number;
      capacity: CapacityResult;
      /** the step also claimed the reservation for its call (asked by `authorizeAndCall` only) */
      claimed?: true;
    }
  | { ok: false; refusal: Refusal; stage: 'policy' | 'budget' };

/**
 * Asked by the authorize step for the claimer of an upstream call on `upstreamKey`, to claim the
 * reservation in its own statement once admitted (see `claimerFor`).
 */
export type ClaimFor = (upstreamKey: string) => Promise<string>;

export interface CapacityInput {
  leaseId: string;
  team: string;
  model: string;
  tokens: number;
  interactive: boolean;
}

export type CapacityResult = { admitted: true } | { admitted: false; retryAfterMs: number | null };

export interface CallInput extends AttemptRef {
  request: ChatRequest;
  maxCompletionTokens: number;
  /**
   * admit the call against the shared rate limits right before making it (so the limiter's window is
   * the time Groq sees the call); absent: the caller admitted it already
   */
  admission?: { tokens: number; interactive: boolean };
  /** check the budget alerts after a completion is booked, in this same step (`alertsChecked`) */
  alerts?: boolean;
}

/**
 * The first attempt of a non-streamed request in one step: the authorize step, then, when it admitted
 * the call at once, the call step with the alerts.
 */
export interface AuthorizeAndCallInput extends AuthorizeInput {
  request: ChatRequest;
}

export interface AuthorizeAndCallResult {
  authorized: AuthorizeResult;
  /**
   * the call step's result when the authorize step admitted the call; `failed` when the call step
   * failed without a result (the workflow then settles the attempt as it does after a failed call step)
   */
  call?: MadeCall | { kind: 'failed' };
}

/** A call step's result once it was admitted. */
export type MadeCall = Exclude<CallResult, { kind: 'not_admitted' }>;

export interface BilledUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costNanos: string;
}

export type CallResult =
  /** no room under the rate limits yet: nothing was claimed or called */
  | { kind: 'not_admitted'; retryAfterMs: number | null }
  | {
      kind: 'success';
      completion: Record<string, unknown>;
      usage: BilledUsage;
      upstreamRequestId: string | null;
      keyVersion: number;
      /** the alerts were checked in the call step (asked with `alerts`); otherwise the caller checks them */
      alertsChecked?: boolean;
    }
  | {
      kind: 'upstream_error';
      status: number;
      body: ApiErrorBody;
      /** worth another attempt (429, 5xx, connection errors) */
      retryable: boolean;
      retryAfterMs?: number;
      /** 401: this key version is refused upstream */
      keyRejected: boolean;
    }
  /** the reservation was already claimed by a call whose outcome nobody knows (a worker died) */
  | { kind: 'unknown' };

/** One attempt of a request: its reservation, its rate-limit lease and what it is charged to. */
export interface AttemptRef {
  requestId: string;
  attempt: number;
  reservationId: string;
  leaseId: string;
  team: string;
  period: string;
  model: string;
  upstreamKey: string;
  gatewayKeyId: string;
  batch: boolean;
}

export interface AlertsInput {
  team: string;
  period: string;
}

export interface RefusalRecord {
  requestId: string;
  team: string | null;
  period?: string;
  code: string;
  detail?: string;
}

/** What the gateway reports about a streamed call it made (see workflows/governed-completion-messages.ts). */
export interface StreamOutcome {
  /**
   * completed: the stream ended with Groq's usage; cut: it ended without usage (upstream cut it);
   * upstream_error: Groq answered an error before streaming; no_call: the gateway never called Groq
   */
  kind: 'completed' | 'cut' | 'upstream_error' | 'no_call';
  keyVersion: number;
  usage?: { promptTokens: number; completionTokens: number; cachedTokens: number };
  /** content chunks received before a cut */
  receivedChunks?: number;
  status?: number;
  upstreamRequestId?: string | null;
}

/** A streamed request's admission: what the gateway needs to call Groq itself, or why it may not. */
export type StreamAdmission =
  | {
      admitted: true;
      attempt: AttemptRef;
      maxCompletionTokens: number;
      /** the authorize step claimed the reservation for the gateway it hands this to (in-process only) */
      claimed?: true;
    }
  | { admitted: false; status: number; error: ApiErrorBody; retryAfterSeconds?: number };

/**
 * What the gateway answers a (non-streamed) completion with, as the workflow's result will say: the
 * completion Groq gave, or the refusal or error. A step that settles the workflow's result hands it to a
 * gateway waiting in the same process (the embedded stack) as soon as its effects are in the ledger.
 */
export type CompletionAnswer =
  | { ok: true; completion: Record<string, unknown>; upstreamRequestId: string | null }
  | { ok: false; status: number; error: ApiErrorBody; retryAfterSeconds?: number };

/** The boards a worker's completion steps announce on, for a gateway in the same process. */
export interface CompletionHandoffs {
  /**
   * streamed requests' admissions, from the authorize step; a waiting gateway names the claimer of its
   * calls, for the authorize statement to claim the reservation for it
   */
  admissions: HandoffBoard<StreamAdmission, string>;
  /** non-streamed requests' answers, from the authorize step (refusals) and the call step */
  answers: HandoffBoard<CompletionAnswer>;
}
