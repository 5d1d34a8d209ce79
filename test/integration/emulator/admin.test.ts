import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySecret, type RunningEmulator } from '../../../emulator/index';
import { MODEL, startTestEmulator } from './support';

let emulator: RunningEmulator;
let secret: string;

beforeAll(async () => {
  const started = await startTestEmulator(['ops']);
  emulator = started.emulator;
  secret = started.secrets['ops']!;
});
afterAll(() => emulator.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- admin answers are read field by field
type Json = any;

async function admin(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json; text: string }> {
  const response = await fetch(`${emulator.url}/_emulator/${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, text };
}

async function complete(apiKey: string, content = 'hi'): Promise<Response> {
  return fetch(`${emulator.url}/openai/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] }),
  });
}

describe('admin API', () => {
  it('answers health and config without secrets', async () => {
    const health = await admin('GET', 'health');
    expect(health.json).toMatchObject({ ok: true, keys: ['ops'] });
    const config = await admin('GET', 'config');
    expect(config.status).toBe(200);
    expect(config.text).not.toContain(secret);
    expect(config.json.keys).toEqual(['ops']);
  });

  it('adds, lists (fingerprints only) and revokes keys by name', async () => {
    const newSecret = generateKeySecret();
    const added = await admin('POST', 'keys', { name: 'rotated', secret: newSecret });
    expect(added.status).toBe(201);
    expect(added.json).toEqual({ name: 'rotated', fingerprint: `gsk_…${newSecret.slice(-4)}`, active: true });
    expect(added.text).not.toContain(newSecret);
    expect((await complete(newSecret)).status).toBe(200);

    const listed = await admin('GET', 'keys');
    expect(listed.text).not.toContain(newSecret);
    expect(listed.text).not.toContain(secret);
    expect(listed.json.keys.map((key: { name: string }) => key.name)).toEqual(['ops', 'rotated']);

    const revoked = await admin('DELETE', 'keys/rotated');
    expect(revoked.json).toMatchObject({ name: 'rotated', active: false });
    const refused = await complete(newSecret);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      error: { message: 'Invalid API Key', type: 'invalid_request_error', code: 'invalid_api_key' },
    });

    expect((await admin('POST', 'keys', { name: 'bad', secret: 'gsk_short' })).status).toBe(400);
    expect((await admin('DELETE', 'keys/nobody')).status).toBe(404);
  });

  it('injects, lists and clears faults', async () => {
    const added = await admin('POST', 'faults', { kind: 'status', status: 503, count: 2 });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ id: expect.stringMatching(/^fault_/), remaining: 2 });
    expect((await complete(secret)).status).toBe(503);
    expect((await admin('GET', 'faults')).json.faults[0]).toMatchObject({ remaining: 1 });
    expect((await admin('DELETE', 'faults')).json).toEqual({ faults: [] });
    expect((await complete(secret)).status).toBe(200);
    expect((await admin('POST', 'faults', { kind: 'explode' })).status).toBe(400);
  });

  it('sets latency and limits', async () => {
    expect((await admin('PUT', 'latency', { latencyMs: 5, perTokenMs: 1 })).json).toEqual({
      latencyMs: 5,
      perTokenMs: 1,
    });
    expect((await complete(secret)).status).toBe(200);
    await admin('PUT', 'latency', { latencyMs: 0, perTokenMs: 0 });

    const limits = await admin('PUT', 'limits', { model: MODEL, rpm: 1, tpd: 123456 });
    const snapshot = limits.json.models.find((entry: { model: string }) => entry.model === MODEL);
    expect(snapshot.limits).toMatchObject({ rpm: 1, tpd: 123456 });
    expect(limits.json.algorithm).toBe('bucket');
    await admin('POST', 'reset', { limits: true });
    expect((await complete(secret)).status).toBe(200);
    const limited = await complete(secret);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    await admin('PUT', 'limits', { enforce: false });
    expect((await complete(secret)).status).toBe(200);
    await admin('PUT', 'limits', { enforce: true, model: MODEL, rpm: 30 });
    expect((await admin('PUT', 'limits', { model: 'nope', rpm: 1 })).status).toBe(404);
  });

  it('reports billing and resets it', async () => {
    await admin('POST', 'reset', {});
    expect((await complete(secret)).status).toBe(200);
    expect((await admin('GET', 'billing')).json.totals.requests).toBe(1);
    expect((await admin('GET', 'billing/calls')).json.calls).toHaveLength(1);
    await admin('POST', 'reset', { billing: true });
    expect((await admin('GET', 'billing')).json.totals).toMatchObject({ requests: 0, cost_nanos: '0' });
    expect((await admin('GET', 'requests')).json.keys.ops.requests).toBeGreaterThan(0);
  });

  it('answers unknown paths with 404 in Groq shape, on both APIs', async () => {
    const unknown = await admin('GET', 'nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('unknown_url');
    const api = await fetch(`${emulator.url}/openai/v1/embeddings`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(api.status).toBe(404);
    expect(api.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
  });
});
