/**
 * Whether a request failed because a dependency could not be reached (PostgreSQL down or its
 * connections cut, Temporal's frontend unavailable), as opposed to a bug: the gateway answers those
 * with 503 and `retry-after` instead of a bare 500, so callers know to retry.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const UNREACHABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection refused',
];
/** gRPC UNAVAILABLE, as Temporal's client reports an unreachable frontend */
const GRPC_UNAVAILABLE = 14;

export function isDependencyUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    if (typeof cause !== 'object') return false;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || code === '57P01'))
      return true;
    if (code === GRPC_UNAVAILABLE) return true;
    if (typeof message === 'string' && UNREACHABLE_MESSAGES.some((m) => message.includes(m))) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}
