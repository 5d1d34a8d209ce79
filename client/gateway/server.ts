/**
 * The OpenAI/Groq-compatible HTTP gateway. Callers use the official `groq-sdk`
 * (`baseURL: gatewayUrl`) or `openai` (`baseURL: gatewayUrl + '/openai/v1'`) clients with a gateway key.
 * Every chat completion is a `governedCompletion` workflow; every answer carries `x-request-id`, from
 * which the workflow id is derived (`completion-<request id>`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Logger } from '../../activities/alerts';
import type { GovernorConfig } from '../../domain/config';
import type { Refusal } from '../../domain/api-errors';
import type { Principal } from '../../domain/rbac';
import type { LedgerStore } from '../../ledger';
import type { KeyAuthenticator } from '../services/gateway-keys';
import { handleAdmin } from './admin';
import { handleBatchAdmin, handleBatches, handleFiles } from './batches';
import { handleChatCompletion } from './chat';
import { sendJson, sendRefusal } from './http';
import { modelList, modelObject, visibleModels } from './models';
import { newRequestId } from './request-id';
import type { StreamingDeps } from './streaming';

export interface GatewayDeps {
  config: () => GovernorConfig;
  ledger: LedgerStore;
  authenticator: KeyAuthenticator;
  temporal: Client;
  taskQueue: string;
  /** start workflows on a worker in this same process without a server round trip */
  eagerStart?: boolean;
  streaming: StreamingDeps;
  log: Logger;
}

export interface RunningGateway {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface RequestContext {
  requestId: string;
  principal: Principal;
  headers: Record<string, string>;
}

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

async function route(deps: GatewayDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const requestId = newRequestId();
  const headers = { 'x-request-id': requestId };
  const path = (request.url ?? '/').split('?')[0]!;
  const method = request.method ?? 'GET';

  if (path === '/healthz') return sendJson(response, 200, { status: 'ok' }, headers);
  if (path.startsWith('/admin/')) {
    const principal = await authenticate(deps, request, response, headers);
    if (!principal) return;
    const batchAdmin = /^\/admin\/batches\/([^/]+)\/(pause|resume)$/.exec(path);
    if (batchAdmin && method === 'POST') {
      const action = batchAdmin[2] as 'pause' | 'resume';
      return handleBatchAdmin(deps, response, principal, decodeURIComponent(batchAdmin[1]!), action, headers);
    }
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
    const id = decodeURIComponent(rest.slice('/models/'.length));
    if (!visibleModels(deps.config(), principal).includes(id)) {
      return sendRefusal(
        response,
        { code: 'not_found', message: `The model \`${id}\` does not exist or you do not have access to it.` },
        headers,
      );
    }
    return sendJson(response, 200, modelObject(id), headers);
  }
  return sendRefusal(response, { code: 'not_found', message: `Unknown path ${path}` }, headers);
}

export async function startGateway(
  deps: GatewayDeps,
  options: { host?: string; port?: number } = {},
): Promise<RunningGateway> {
  const server = createServer((request, response) => {
    route(deps, request, response).catch((error: unknown) => {
      deps.log.warn('gateway request failed', { error: String(error) });
      if (!response.headersSent) {
        sendJson(response, 500, {
          error: { message: 'Internal error', type: 'api_error', code: 'internal_error' },
        });
      } else {
        response.destroy();
      }
    });
  });
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
