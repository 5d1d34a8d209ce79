/** Time to the first token of streamed completions (`stream: true`), for `bench:overhead`. */
import { performance } from 'node:perf_hooks';
import type Groq from 'groq-sdk';
import { percentile, type Timed } from './overhead-load';

export interface TtftResult {
  p50: number;
  p95: number;
  n: number;
  errors: number;
  errorSamples: string[];
}

/** One streamed request: ms until the first chunk that carries content; the stream is read to its end. */
export async function timeToFirstContent(groq: Groq, model: string): Promise<number> {
  const t0 = performance.now();
  const stream = await groq.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Say hello in five words.' }],
    max_completion_tokens: 16,
    stream: true,
  });
  let first = Number.NaN;
  for await (const chunk of stream) {
    if (Number.isNaN(first) && chunk.choices[0]?.delta?.content) first = performance.now() - t0;
  }
  if (Number.isNaN(first)) throw new Error('the stream carried no content');
  return first;
}

/**
 * `count` rounds at concurrency 1, each one direct stream, one floor workflow and one governed stream in
 * turn (as the concurrency-1 level runs its paths), so that the three see the same moments of a shared
 * machine and a governed stream follows other work, not the tail of the governed stream before it.
 */
export async function measureTtftInterleaved(
  /** one direct stream: its time to first content, as measured by the load generator */
  direct: () => Promise<Timed>,
  /** one governed stream, likewise */
  governed: () => Promise<Timed>,
  sendFloor: () => Promise<unknown>,
  count: number,
): Promise<{ direct: TtftResult; governed: TtftResult; floor: TtftResult }> {
  const paths = {
    direct: async () => (await direct()).latencyMs,
    floor: async () => {
      const t0 = performance.now();
      await sendFloor();
      return performance.now() - t0;
    },
    governed: async () => (await governed()).latencyMs,
  };
  const times = { direct: [] as number[], floor: [] as number[], governed: [] as number[] };
  const failures = { direct: [] as string[], floor: [] as string[], governed: [] as string[] };
  for (let i = 0; i < count; i++) {
    for (const name of ['direct', 'floor', 'governed'] as const) {
      try {
        times[name].push(await paths[name]());
      } catch (error) {
        failures[name].push(String((error as Error).message ?? error).slice(0, 160));
      }
    }
  }
  const result = (name: keyof typeof paths): TtftResult => {
    const sorted = times[name].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      n: count,
      errors: failures[name].length,
      errorSamples: failures[name].slice(0, 3),
    };
  };
  return { direct: result('direct'), governed: result('governed'), floor: result('floor') };
}
