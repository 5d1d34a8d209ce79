/** Groq's error body `{"error": {"message", "type", "code"?, "param"?}}` and the errors the emulator raises. */

export interface GroqErrorBody {
  error: { message: string; type: string; code?: string; param?: string };
}

/** An error that becomes an HTTP response in Groq's shape. */
export class GroqError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code?: string,
    readonly param?: string,
    /** extra response headers, e.g. retry-after */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GroqError';
  }

  body(): GroqErrorBody {
    const error: GroqErrorBody['error'] = { message: this.message, type: this.type };
    if (this.code !== undefined) error.code = this.code;
    if (this.param !== undefined) error.param = this.param;
    return { error };
  }
}

export const invalidRequest = (message: string, param?: string, code?: string): GroqError =>
  new GroqError(400, message, 'invalid_request_error', code, param);

export const invalidApiKey = (): GroqError =>
  new GroqError(401, 'Invalid API Key', 'invalid_request_error', 'invalid_api_key');

export const modelNotFound = (model: string): GroqError =>
  new GroqError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model_not_found',
  );

export const contextLengthExceeded = (): GroqError =>
  new GroqError(
    400,
    'Please reduce the length of the messages or completion.',
    'invalid_request_error',
    'context_length_exceeded',
    'messages',
  );

export const unknownUrl = (method: string, path: string): GroqError =>
  new GroqError(
    404,
    `Unknown request URL: ${method} ${path}. Please check the URL for typos, or see the docs at https://console.groq.com/docs/`,
    'invalid_request_error',
    'unknown_url',
  );

export const notFound = (what: string, id: string): GroqError =>
  new GroqError(404, `${what} with id '${id}' not found`, 'invalid_request_error', 'not_found');

export const payloadTooLarge = (limitBytes: number): GroqError =>
  new GroqError(
    413,
    `Request body too large: the limit is ${limitBytes} bytes`,
    'invalid_request_error',
    'request_too_large',
  );

/** Default bodies for injected faults, by status. */
export function faultError(status: number, message?: string, type?: string, code?: string): GroqError {
  const defaults: Record<number, [string, string, string?]> = {
    400: ['Organization has reached its spend limit', 'invalid_request_error', 'blocked_api_access'],
    403: ['Forbidden', 'permission_denied'],
    408: ['Request Timeout', 'internal_server_error'],
    429: ['Rate limit reached (injected fault). Please try again later.', 'requests', 'rate_limit_exceeded'],
    498: ['Flex tier capacity exceeded. Please try again later.', 'capacity_exceeded', 'capacity_exceeded'],
    500: ['Internal Server Error', 'internal_server_error'],
    502: ['Bad Gateway', 'internal_server_error'],
    503: ['Service Unavailable', 'internal_server_error'],
    504: ['Gateway Timeout', 'internal_server_error'],
  };
  const [defaultMessage, defaultType, defaultCode] = defaults[status] ?? [
    `Injected fault with status ${status}`,
    status >= 500 ? 'internal_server_error' : 'invalid_request_error',
  ];
  return new GroqError(status, message ?? defaultMessage, type ?? defaultType, code ?? defaultCode);
}
