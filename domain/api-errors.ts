/**
 * The gateway's refusals, each with its own reason code, HTTP status and Groq/OpenAI error type. The
 * body shape is Groq's: `{"error": {"message", "type", "code", "param"?}}`.
 */
export const REFUSALS = {
  invalid_api_key: { status: 401, type: 'invalid_request_error' },
  expired_api_key: { status: 401, type: 'invalid_request_error' },
  revoked_api_key: { status: 401, type: 'invalid_request_error' },
  permission_denied: { status: 403, type: 'permission_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  team_not_found: { status: 403, type: 'permission_error' },
  team_paused: { status: 403, type: 'permission_error' },
  invalid_request_error: { status: 400, type: 'invalid_request_error' },
  max_tokens_exceeded: { status: 400, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  budget_exceeded: { status: 402, type: 'insufficient_quota' },
  rate_limit_exceeded: { status: 429, type: 'requests' },
  not_found: { status: 404, type: 'invalid_request_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
} as const;

export type RefusalCode = keyof typeof REFUSALS;

export interface Refusal {
  code: RefusalCode;
  message: string;
  /** the offending field, e.g. "messages[0].content" */
  param?: string;
  /** for rate_limit_exceeded: seconds the caller should wait */
  retryAfterSeconds?: number;
}

export interface ApiErrorBody {
  error: { message: string; type: string; code: string; param?: string };
}

export function refusalStatus(code: RefusalCode): number {
  return REFUSALS[code].status;
}

export function refusalBody(refusal: Refusal): ApiErrorBody {
  return {
    error: {
      message: refusal.message,
      type: REFUSALS[refusal.code].type,
      code: refusal.code,
      ...(refusal.param !== undefined ? { param: refusal.param } : {}),
    },
  };
}
