import fc from 'fast-check';
import type Groq from 'groq-sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BillingReport, BilledCall, RunningEmulator } from '../../../emulator/index';
import { expectedCost, groqClient, startTestEmulator, type SeenUsage } from './support';

let emulator: RunningEmulator;
let clients: Record<string, Groq>;

beforeAll(async () => {
  const started = await startTestEmulator(['alpha', 'beta']);
  emulator = started.emulator;
  emulator.enforceRateLimits(false);
  clients = {
    alpha: groqClient(emulator, started.secrets['alpha']!),
    beta: groqClient(emulator, started.secrets['beta']!),
  };
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function adminBilling(): Promise<BillingReport> {
  return (await (await fetch(`${emulator.url}/_emulator/billing`)).json()) as BillingReport;
}

async function adminCalls(): Promise<BilledCall[]> {
  return ((await (await fetch(`${emulator.url}/_emulator/billing/calls`)).json()) as { calls: BilledCall[] })
    .calls;
}

interface ChatBody {
  model: string;
  messages: { role: 'system' | 'user'; content: string }[];
  max_completion_tokens?: number;
}

interface Seen extends SeenUsage {
  key: string;
  requestId: string;
}

/** One call as a client makes it; returns the usage it saw (from the JSON body or the last chunk). */
async function call(key: string, body: ChatBody, stream: boolean): Promise<Seen> {
  const client = clients[key]!;
  if (!stream) {
    const result = await client.chat.completions.create({ ...body, stream: false });
    return { key, model: result.model, requestId: result.x_groq!.id, ...result.usage! };
  }
  const chunks = await client.chat.completions.create({ ...body, stream: true });
  let seen: Seen | undefined;
  for await (const chunk of chunks) {
    // Groq's recent streams repeat x_groq.usage as a top-level usage (not in the SDK's chunk type)
    const usage = (chunk as { usage?: Omit<SeenUsage, 'model'> }).usage;
    if (usage) seen = { key, model: chunk.model, requestId: chunk.x_groq?.id ?? '', ...usage };
  }
  return seen!;
}

describe('billing is the ground truth, exact to the unit', () => {
  it('prices one call by hand: 1000 prompt + 500 completion on llama-3.3-70b-versatile', async () => {
    // prompt = 3 priming + 4 framing + 993 one-token words
    const seen = await call(
      'alpha',
      {
        model: 'llama-3.3-70b-versatile',
        messages: [{ role: 'user', content: `${'abcd '.repeat(993)}[[emulator:completion_tokens=500]]` }],
      },
      false,
    );
    expect(seen.prompt_tokens).toBe(1000);
    expect(seen.completion_tokens).toBe(500);
    // $0.59 and $0.79 per 1M tokens = 590 and 790 nanos per token
    expect((await adminBilling()).totals.cost_nanos).toBe(String(1000 * 590 + 500 * 790));
    // cached: 400 of the prompt at half the input price
    emulator.reset();
    await call(
      'alpha',
      {
        model: 'llama-3.3-70b-versatile',
        messages: [
          {
            role: 'user',
            content: `${'abcd '.repeat(993)}[[emulator:completion_tokens=500]] [[emulator:cached_tokens=400]]`,
          },
        ],
      },
      false,
    );
    expect((await adminBilling()).totals.cost_nanos).toBe(String(600 * 590 + 400 * 295 + 500 * 790));
  });

  it('equals the sum of costOf over the usages the clients saw, per key, per model and in total', async () => {
    const models = [
      'llama-3.1-8b-instant',
      'openai/gpt-oss-20b',
      'qwen/qwen3-32b',
      'moonshotai/kimi-k2-instruct-0905',
    ];
    const request = fc.record({
      key: fc.constantFrom('alpha', 'beta'),
      model: fc.constantFrom(...models),
      words: fc.nat(400),
      completion: fc.option(fc.nat(300), { nil: undefined }),
      cached: fc.option(fc.nat(500), { nil: undefined }),
      max: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
      stream: fc.boolean(),
    });
    const requests = fc.sample(request, { numRuns: 60, seed: 20250601 });
    const seen: Seen[] = [];
    for (const r of requests) {
      const directives =
        (r.completion === undefined ? '' : ` [[emulator:completion_tokens=${r.completion}]]`) +
        (r.cached === undefined ? '' : ` [[emulator:cached_tokens=${r.cached}]]`);
      seen.push(
        await call(
          r.key,
          {
            model: r.model,
            messages: [
              { role: 'system', content: 'You are terse.' },
              { role: 'user', content: `${'lorem ipsum '.repeat(r.words)}${directives}` },
            ],
            ...(r.max === undefined ? {} : { max_completion_tokens: r.max }),
          },
          r.stream,
        ),
      );
    }
    // errors in between are never billed
    await clients['alpha']!.chat.completions.create({ model: 'nope', messages: [] }).catch(() => undefined);
    emulator.injectFault({ kind: 'status', status: 502 });
    await clients['beta']!.chat.completions.create({
      model: models[0]!,
      messages: [{ role: 'user', content: 'x' }],
    }).catch(() => undefined);

    const report = await adminBilling();
    expect(report.unit).toBe('nanos');
    expect(BigInt(report.totals.cost_nanos)).toBe(expectedCost(emulator, seen));
    expect(report.totals.requests).toBe(seen.length);
    expect(report.totals.batch.requests).toBe(0);
    expect(report.totals.prompt_tokens).toBe(seen.reduce((sum, usage) => sum + usage.prompt_tokens, 0));
    expect(report.totals.completion_tokens).toBe(
      seen.reduce((sum, usage) => sum + usage.completion_tokens, 0),
    );
    expect(report.totals.cached_tokens).toBe(
      seen.reduce((sum, usage) => sum + (usage.prompt_tokens_details?.cached_tokens ?? 0), 0),
    );
    for (const key of ['alpha', 'beta']) {
      for (const model of models) {
        const mine = seen.filter((usage) => usage.key === key && usage.model === model);
        const cell = report.keys[key]?.models[model];
        if (mine.length === 0) {
          expect(cell).toBeUndefined();
          continue;
        }
        expect(cell?.requests).toBe(mine.length);
        expect(BigInt(cell!.cost_nanos)).toBe(expectedCost(emulator, mine));
        expect(cell!.realtime.cost_nanos).toBe(cell!.cost_nanos);
      }
    }
    for (const model of models) {
      const mine = seen.filter((usage) => usage.model === model);
      if (mine.length > 0)
        expect(BigInt(report.models[model]!.cost_nanos)).toBe(expectedCost(emulator, mine));
    }

    const calls = await adminCalls();
    expect(calls.map((billed) => billed.request_id)).toEqual(seen.map((usage) => usage.requestId));
    calls.forEach((billed, index) => {
      const usage = seen[index]!;
      expect(billed).toMatchObject({
        key_name: usage.key,
        model: usage.model,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
        batch: false,
        cut: false,
      });
      expect(BigInt(billed.cost_nanos)).toBe(expectedCost(emulator, [usage]));
    });
    expect(emulator.billing()).toEqual(report);
  });

  it('counts requests per key name per minute', async () => {
    await call('alpha', { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'a' }] }, false);
    await call('beta', { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'b' }] }, true);
    await call('beta', { model: 'llama-3.1-8b-instant', messages: [{ role: 'user', content: 'c' }] }, false);
    const log = (await (await fetch(`${emulator.url}/_emulator/requests`)).json()) as {
      keys: Record<
        string,
        {
          requests: number;
          minutes: { minute: string; requests: number; statuses: Record<string, number> }[];
        }
      >;
    };
    expect(log.keys['alpha']?.requests).toBe(1);
    expect(log.keys['beta']?.requests).toBe(2);
    const minute = log.keys['beta']!.minutes[0]!;
    expect(minute.minute).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/);
    expect(minute.statuses).toEqual({ '200': 2 });
  });
});
