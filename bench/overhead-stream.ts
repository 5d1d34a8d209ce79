/** Time to the first token of streamed completions (`stream: true`), for `bench:overhead`. */
import { performance } from 'node:perf_hooks';
import type Groq from 'groq-sdk';
import { percentile } from './overhead-load';

export interface TtftResult {
  p50: number;
  p95: number;
  n: number;
  errors: number;
  errorSamples: string[];
}

/** One streamed request: ms until the first chunk that carries content; the stream is read to its end. */
async function timeToFirstContent(groq: Groq, model: string): Promise<number> {
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

/** `count` streamed requests one after another (concurrency 1). */
export async function measureTtft(groq: Groq, model: string, count: number): Promise<TtftResult> {
  const times: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    try {
      times.push(await timeToFirstContent(groq, model));
    } catch (error) {
      errors++;
      if (errorSamples.length < 3) errorSamples.push(String((error as Error).message ?? error).slice(0, 160));
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95), n: count, errors, errorSamples };
}
