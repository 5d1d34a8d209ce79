/**
 * The OpenAI/Groq-compatible HTTP gateway. Callers use the official `groq-sdk`
 * (`baseURL: gatewayUrl`) or `openai` (`baseURL: gatewayUrl + '/openai/v1'`) clients with a gateway key.
 * Every chat completion is a `governedCompletion` workflow; every answer carries `x-request-id`, from
 * which the workflow id is derived (`completion-<request id>`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Refusal } from '../../domain/api-errors';
import { authorize, type Principal } from '../../domain/rbac';
import { handleConsole } from '../console';
import { handleAdmin } from './admin';
import { handleAudioSpeech, handleAudioTranscription } from './audio';
import { handleBatches, handleFiles } from './batches';
import { handleChatCompletion } from './chat';
import { createGatewayMetrics, routeOf, type GatewayMetrics } from './metrics';
import { readiness } from './readiness';
import { decodeSegment, sendJson, sendRefusal, targetFault } from './http';
import { modelList, modelObject, visibleModels } from './models';
import { newRequestId } from './request-id';
import { handleResponses } from './responses';
import { isDependencyUnavailable } from './unavailable';
import type { GatewayDeps, RunningGateway } from './deps';

export type { GatewayDeps, RequestContext, RunningGateway } from './deps';

const PREFIX = '/openai/v1';

async function authenticate(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  headers: Record<string, string>,
): Promise<Principal | undefined> {
  const result = await deps.authenticator.authenticate(request.headers.authorization);
  if (result.ok) return result.principal;
  const refusal: Refusal = { code: result.code, message: result.message };
  sendRefusal(response, refusal, headers);
  return undefined;
}

async function route(
  deps: GatewayDeps,
  metrics: GatewayMetrics,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const requestId = newRequestId();
  const headers = { 'x-request-id': requestId };
  const path = (request.url ?? '/').split('?')[0]!;
  const method = request.method ?? 'GET';

  if (path === '/healthz') return sendJson(response, 200, { status: 'ok' }, headers);
  // the text rule for the request target, once: query values and path segments (docs/security.md)
  const fault = targetFault(request.url ?? '/');
  if (fault) return sendRefusal(response, fault, headers);
  if (path === '/readyz') {
    const ready = await readiness(deps);
    return sendJson(response, ready.ok ? 200 : 503, ready, headers);
  }
  if (path === '/metrics') {
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    const decision = authorize(principal, 'org_usage.read');
    if (!decision.allowed)
      return sendRefusal(response, { code: 'permission_denied', message: decision.reason }, headers);
    const { contentType, text } = await metrics.render();
    response.writeHead(200, { 'content-type': contentType, ...headers });
    response.end(text);
    return;
  }
  if (path === '/console' || path.startsWith('/console/'))
    return handleConsole(deps, request, response, path);
  if (path.startsWith('/admin/')) {
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    return handleAdmin(deps, request, response, principal, path, headers);
  }
  if (!path.startsWith(PREFIX + '/')) {
    return sendRefusal(response, { code: 'not_found', message: `Unknown path ${path}` }, headers);
  }
  const rest = path.slice(PREFIX.length);

  if (rest === '/chat/completions') {
    if (method !== 'POST')
      return sendRefusal(response, { code: 'method_not_allowed', message: 'Use POST.' }, headers);
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    return handleChatCompletion(deps, request, response, { requestId, principal, headers });
  }
  if (
    rest === '/audio/transcriptions' ||
    rest === '/audio/translations' ||
    rest === '/audio/speech' ||
    rest === '/responses'
  ) {
    if (method !== 'POST') {
      request.resume();
      return sendRefusal(response, { code: 'method_not_allowed', message: 'Use POST.' }, headers);
    }
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) {
      request.resume();
      return;
    }
    const context = { requestId, principal, headers };
    if (rest === '/responses') return handleResponses(deps, request, response, context);
    if (rest === '/audio/speech') return handleAudioSpeech(deps, request, response, context);
    const endpoint = rest === '/audio/transcriptions' ? 'audio.transcriptions' : 'audio.translations';
    return handleAudioTranscription(deps, request, response, context, endpoint);
  }
  if (
    rest === '/files' ||
    rest.startsWith('/files/') ||
    rest === '/batches' ||
    rest.startsWith('/batches/')
  ) {
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    const context = { requestId, principal, headers };
    if (rest.startsWith('/files')) return handleFiles(deps, request, response, context, rest);
    return handleBatches(deps, request, response, context, rest);
  }
  if (rest === '/models' || rest.startsWith('/models/')) {
    if (method !== 'GET')
      return sendRefusal(response, { code: 'method_not_allowed', message: 'Use GET.' }, headers);
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    if (rest === '/models') return sendJson(response, 200, modelList(deps.config(), principal), headers);
    const id = decodeSegment(rest.slice('/models/'.length));
    if (id === undefined || !visibleModels(deps.config(), principal).includes(id)) {
      return sendRefusal(
        response,
        {
          code: 'not_found',
          message: `The model \`${id ?? rest.slice('/models/'.length)}\` does not exist or you do not have access to it.`,
        },
        headers,
      );
    }
    return sendJson(response, 200, modelObject(id), headers);
  }
  return sendRefusal(response, { code: 'not_found', message: `Unknown path ${path}` }, headers);
}

function sendRefusalShuttingDown(response: ServerResponse): void {
  sendJson(
    response,
    503,
    { error: { message: 'The gateway is shutting down.', type: 'api_error', code: 'service_unavailable' } },
    { 'x-request-id': newRequestId(), connection: 'close' },
  );
}

/**
 * Requests Node's HTTP parser rejects (bad framing, header injection, oversized headers) still get a
 * Groq-shaped error and a request id, instead of Node's bare `400 Bad Request`.
 */
function answerMalformed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    error: {
      message: tooLarge ? 'The request headers are too large.' : 'The HTTP request is malformed.',
      type: 'invalid_request_error',
      code: 'invalid_request_error',
    },
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${newRequestId()}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export async function startGateway(
  deps: GatewayDeps,
  options: { host?: string; port?: number } = {},
): Promise<RunningGateway> {
  const metrics = createGatewayMetrics(deps.ledger, deps.config);
  let draining = false;
  const server = createServer((request, response) => {
    if (draining) {
      response.shouldKeepAlive = false;
      return sendRefusalShuttingDown(response);
    }
    const started = process.hrtime.bigint();
    response.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = (request.url ?? '/').split('?')[0]!;
      metrics.observe(routeOf(path), request.method ?? 'GET', response.statusCode, seconds);
    });
    route(deps, metrics, request, response).catch((error: unknown) => {
      deps.log.warn('gateway request failed', { error: String(error) });
      if (!response.headersSent && isDependencyUnavailable(error)) {
        sendJson(
          response,
          503,
          {
            error: {
              message: 'The gateway cannot reach its ledger or Temporal right now; retry shortly.',
              type: 'api_error',
              code: 'service_unavailable',
            },
          },
          { 'x-request-id': newRequestId(), 'retry-after': '1' },
        );
      } else if (!response.headersSent) {
        sendJson(
          response,
          500,
          { error: { message: 'Internal error', type: 'api_error', code: 'internal_error' } },
          { 'x-request-id': newRequestId() },
        );
      } else {
        response.destroy();
      }
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerMalformed(error, socket));
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    metrics,
    close: async (graceMs = 30_000) => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // connections go as soon as they are idle: now, and after each in-flight answer
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), graceMs).unref(),
      );
      try {
        if ((await Promise.race([closed, deadline])) === 'timeout') {
          server.closeAllConnections();
          await closed;
        }
      } finally {
        clearInterval(sweep);
      }
    },
  };
}
