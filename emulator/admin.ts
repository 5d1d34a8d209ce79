/**
 * The admin API under `/_emulator/` (no Groq auth; answered only to loopback clients). JSON in and out;
 * errors use Groq's error shape. Secrets are accepted but never returned.
 *
 *   GET    /_emulator/health
 *   GET    /_emulator/config                 the running configuration, key secrets left out
 *   GET    /_emulator/keys                   [{name, fingerprint, active, addedAt, revokedAt}]
 *   POST   /_emulator/keys                   {name, secret}: add (or replace) a key
 *   DELETE /_emulator/keys/{name}            revoke (also POST /_emulator/keys/{name}/revoke)
 *   GET    /_emulator/faults                 pending faults
 *   POST   /_emulator/faults                 a FaultSpec (see faults.ts)
 *   DELETE /_emulator/faults[/{id}]          clear all / one
 *   GET    /_emulator/latency                {latencyMs, perTokenMs}
 *   PUT    /_emulator/latency                {latencyMs?, perTokenMs?}
 *   GET    /_emulator/limits                 {algorithm, enforce, models: [{model, limits, remaining, reset}]}
 *   PUT    /_emulator/limits                 {model, rpm?, rpd?, tpm?, tpd?} and/or {enforce}
 *   GET    /_emulator/billing                totals per key name and model (cost_nanos as strings)
 *   GET    /_emulator/billing/calls          every billed call
 *   GET    /_emulator/requests               requests seen per key name per minute
 *   POST   /_emulator/reset                  {billing?, limits?, requests?, faults?, files?}: all when empty
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { formatPath } from './config';
import { GroqError, invalidRequest, unknownUrl } from './errors';
import { faultSpecSchema } from './faults';
import { parseJson, readBody, sendJson } from './http';
import { KeyError } from './keys';
import type { EmulatorState } from './state';

const latencySchema = z.strictObject({
  latencyMs: z.number().finite().nonnegative().optional(),
  perTokenMs: z.number().finite().nonnegative().optional(),
});

const limitsSchema = z.strictObject({
  model: z.string().min(1).optional(),
  rpm: z.number().int().positive().optional(),
  rpd: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  tpd: z.number().int().positive().optional(),
  enforce: z.boolean().optional(),
});

export const resetSchema = z.strictObject({
  billing: z.boolean().optional(),
  limits: z.boolean().optional(),
  requests: z.boolean().optional(),
  faults: z.boolean().optional(),
  files: z.boolean().optional(),
});
export type ResetParts = z.infer<typeof resetSchema>;

const keySchema = z.strictObject({ name: z.string().min(1), secret: z.string().min(1) });

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    throw invalidRequest(
      parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('; '),
    );
  }
  return parsed.data;
}

/** Apply a reset: with no part named, everything (billing, limits, request log, faults, files and batches). */
export function applyReset(state: EmulatorState, parts: ResetParts): void {
  const all = Object.values(parts).every((value) => value === undefined);
  if (all || parts.billing) state.billing.clear();
  if (all || parts.limits) {
    state.limiter.clear();
    state.audioLimiter.clear();
  }
  if (all || parts.requests) state.requestLog.clear();
  if (all || parts.faults) state.faults.clear();
  if (all || parts.files) {
    state.files.clear();
    state.batches.clear();
  }
}

export function publicConfig(state: EmulatorState): unknown {
  const { keys: _keys, ...rest } = state.config;
  return { ...rest, keys: state.keys.list().map((key) => key.name) };
}

export async function handleAdmin(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const segments = path.slice('/_emulator/'.length).split('/').map(decodeURIComponent);
  const [resource, id, action] = segments;
  const body = async (): Promise<unknown> => parseJson(await readBody(req, state.config.maxBodyBytes));
  const ok = (value: unknown, status = 200): void => sendJson(res, status, value);

  switch (
    `${method} ${resource}${id === undefined ? '' : '/:id'}${action === undefined ? '' : `/${action}`}`
  ) {
    case 'GET health':
      return ok({
        ok: true,
        org_id: state.config.orgId,
        models: [...state.models.keys()],
        keys: state.keys.names(),
      });
    case 'GET config':
      return ok(publicConfig(state));
    case 'GET keys':
      return ok({ keys: state.keys.list() });
    case 'POST keys': {
      const input = parseWith(keySchema, await body());
      try {
        const added = state.keys.add(input.name, input.secret);
        return ok({ name: added.name, fingerprint: added.fingerprint, active: true }, 201);
      } catch (error) {
        if (error instanceof KeyError) throw invalidRequest(error.message);
        throw error;
      }
    }
    case 'DELETE keys/:id':
    case 'POST keys/:id/revoke': {
      if (!state.keys.revoke(id ?? ''))
        throw new GroqError(404, `no key named ${id}`, 'invalid_request_error', 'not_found');
      return ok(state.keys.list().find((key) => key.name === id));
    }
    case 'GET faults':
      return ok({ faults: state.faults.list() });
    case 'POST faults': {
      const spec = parseWith(faultSpecSchema, await body());
      return ok(state.faults.add(spec), 201);
    }
    case 'DELETE faults':
      state.faults.clear();
      return ok({ faults: [] });
    case 'DELETE faults/:id':
      if (!state.faults.remove(id ?? ''))
        throw new GroqError(404, `no fault ${id}`, 'invalid_request_error', 'not_found');
      return ok({ faults: state.faults.list() });
    case 'GET latency':
      return ok(state.latency);
    case 'PUT latency':
    case 'POST latency': {
      const input = parseWith(latencySchema, await body());
      if (input.latencyMs !== undefined) state.latency.latencyMs = input.latencyMs;
      if (input.perTokenMs !== undefined) state.latency.perTokenMs = input.perTokenMs;
      return ok(state.latency);
    }
    case 'GET limits':
      return ok(limitsReport(state));
    case 'PUT limits':
    case 'POST limits': {
      const { model, enforce, ...limits } = parseWith(limitsSchema, await body());
      if (enforce !== undefined) state.limiter.enforce = state.audioLimiter.enforce = enforce;
      if (model !== undefined && !state.limiter.setLimits(model, limits)) {
        throw new GroqError(404, `no model named ${model}`, 'invalid_request_error', 'model_not_found');
      }
      return ok(limitsReport(state));
    }
    case 'GET billing':
      return ok(state.billing.report());
    case 'GET billing/:id':
      if (id === 'calls') return ok({ calls: state.billing.list() });
      break;
    case 'GET requests':
      return ok(state.requestLog.report());
    case 'POST reset':
      applyReset(state, parseWith(resetSchema, await body()));
      return ok({ ok: true });
  }
  throw unknownUrl(method, path);
}

export function limitsReport(state: EmulatorState): unknown {
  return {
    algorithm: state.config.rateLimitAlgorithm,
    enforce: state.limiter.enforce,
    models: state.limiter.snapshot(state.now()),
  };
}
