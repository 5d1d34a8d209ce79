/**
 * The HTTP server: routes Groq's `/openai/v1/*` paths (Bearer-key authenticated) and the loopback-only
 * admin API under `/_emulator/`. Every Groq-path response carries the x-ratelimit-* headers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAdmin } from './admin';
import { handleAudioSpeech, handleAudioTranscription } from './audio';
import { cancelBatch, createBatch, listBatches, retrieveBatch } from './batches-api';
import { handleChatCompletion } from './chat';
import { GroqError, invalidApiKey, unknownUrl } from './errors';
import { deleteFile, fileContent, fileInfo, listFiles, uploadFile } from './files-api';
import { isLoopback, sendError, type Headers } from './http';
import { requestId } from './ids';
import { bearerSecret } from './keys';
import { listModels, retrieveModel } from './models';
import { NO_KEY, UNKNOWN_KEY } from './requestlog';
import { handleResponses } from './responses';
import type { EmulatorState } from './state';

const API_PREFIX = '/openai/v1/';
const ADMIN_PREFIX = '/_emulator/';

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query < 0 ? raw : raw.slice(0, query);
}

async function route(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req.url);
  const method = req.method ?? 'GET';

  if (path.startsWith(ADMIN_PREFIX) || path === '/_emulator') {
    if (!isLoopback(req.socket.remoteAddress)) {
      req.resume();
      throw new GroqError(403, 'The emulator admin API only answers loopback clients', 'permission_denied');
    }
    await handleAdmin(state, req, res, path);
    return;
  }

  const secret = bearerSecret(req.headers.authorization);
  const key = secret === undefined ? undefined : state.keys.lookup(secret);
  const keyName = secret === undefined ? NO_KEY : (key?.name ?? UNKNOWN_KEY);
  const log = state.requestLog.seen(keyName, state.now());
  if (!key?.active) {
    req.resume();
    log.status(401);
    sendError(res, invalidApiKey(), baseHeaders(state));
    return;
  }

  try {
    if (!path.startsWith(API_PREFIX)) throw unknownUrl(method, path);
    const rest = path.slice(API_PREFIX.length);
    if (rest === 'chat/completions' && method === 'POST') {
      await handleChatCompletion(state, req, res, { keyName: key.name, log });
      return;
    }
    if (method === 'POST' && (rest === 'audio/transcriptions' || rest === 'audio/translations')) {
      const task = rest === 'audio/transcriptions' ? 'transcribe' : 'translate';
      await handleAudioTranscription(state, req, res, { keyName: key.name, log }, task);
      return;
    }
    if (rest === 'audio/speech' && method === 'POST') {
      await handleAudioSpeech(state, req, res, { keyName: key.name, log });
      return;
    }
    if (rest === 'responses' && method === 'POST') {
      await handleResponses(state, req, res, { keyName: key.name, log });
      return;
    }
    const headers = baseHeaders(state);
    const [resource, rawId, action, ...extra] = rest.split('/');
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    if (resource === 'models') {
      if (method === 'GET' && id === undefined) return listModels(state, res, headers);
      // model ids may contain a slash (openai/gpt-oss-20b), encoded or not
      if (method === 'GET' && id !== undefined) {
        return retrieveModel(state, res, decodeURIComponent(rest.slice('models/'.length)), headers);
      }
    } else if (resource === 'files' && extra.length === 0) {
      if (id === undefined && method === 'POST') return await uploadFile(state, req, res, headers);
      if (id === undefined && method === 'GET') return listFiles(state, res, headers);
      if (id !== undefined && action === undefined && method === 'GET')
        return fileInfo(state, res, id, headers);
      if (id !== undefined && action === undefined && method === 'DELETE')
        return deleteFile(state, res, id, headers);
      if (id !== undefined && action === 'content' && method === 'GET')
        return fileContent(state, res, id, headers);
    } else if (resource === 'batches' && extra.length === 0) {
      if (id === undefined && method === 'POST') return await createBatch(state, req, res, key.name, headers);
      if (id === undefined && method === 'GET') return listBatches(state, res, headers);
      if (id !== undefined && action === undefined && method === 'GET')
        return retrieveBatch(state, res, id, headers);
      if (id !== undefined && action === 'cancel' && method === 'POST')
        return cancelBatch(state, res, id, headers);
    }
    throw unknownUrl(method, path);
  } catch (error) {
    if (!(error instanceof GroqError) || res.headersSent) throw error;
    req.resume();
    sendError(res, error, baseHeaders(state));
  } finally {
    if (res.headersSent) log.status(res.statusCode);
  }
}

/** Headers for non-completion responses: the default model's limits and a request id. */
function baseHeaders(state: EmulatorState): Headers {
  return { ...state.rateLimitHeaders(), 'x-request-id': requestId(state.now()) };
}

export function createEmulatorServer(state: EmulatorState): Server {
  const server = createServer({ keepAlive: true }, (req, res) => {
    route(state, req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.resume();
      if (error instanceof GroqError) {
        const headers = pathOf(req.url).startsWith(ADMIN_PREFIX) ? {} : baseHeaders(state);
        sendError(res, error, headers);
        return;
      }
      sendError(
        res,
        new GroqError(
          500,
          `emulator internal error: ${(error as Error)?.message ?? String(error)}`,
          'internal_server_error',
        ),
        baseHeaders(state),
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
