/**
 * The load generator of `bench:overhead`, in a process of its own (forked by bench/overhead-harness.ts):
 * official `groq-sdk` clients for the direct path (the emulator) and the governed path (the gateway),
 * driven over IPC. Latencies are measured here, so the IPC hop is not in them.
 */
import { performance } from 'node:perf_hooks';
import Groq from 'groq-sdk';
import { completionWorkflowId } from '../domain/request-ids';
import { RecentIds } from './overhead-floor';
import type { LoadInit, LoadReply, LoadRequest, SenderName } from './overhead-harness-messages';
import { run } from './overhead-load';
import { timeToFirstContent } from './overhead-stream';

function senders(init: LoadInit, governedIds: RecentIds): Record<SenderName, () => Promise<number | void>> {
  const sdk = (baseURL: string, apiKey: string) =>
    new Groq({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
  const direct = sdk(init.emulatorUrl, init.upstreamSecret);
  const governed = sdk(init.gatewayUrl, init.gatewayKey);
  const request = {
    model: init.model,
    messages: [{ role: 'user' as const, content: 'Say hello in five words.' }],
    max_completion_tokens: 16,
  };
  return {
    direct: async () => {
      await direct.chat.completions.create(request);
    },
    governed: async () => {
      const { response } = await governed.chat.completions.create(request).withResponse();
      const requestId = response.headers.get('x-request-id');
      if (requestId) governedIds.add(completionWorkflowId(requestId));
    },
    directStream: () => timeToFirstContent(direct, init.model),
    governedStream: () => timeToFirstContent(governed, init.model),
  };
}

process.once('message', (init: LoadInit) => {
  const governedIds = new RecentIds();
  const send = senders(init, governedIds);
  process.once('disconnect', () => process.exit(0));
  process.on('message', (request: LoadRequest) => {
    const reply = async (): Promise<LoadReply> => {
      if (request.op === 'run') {
        const limit =
          'count' in request.limit
            ? request.limit
            : { deadline: performance.now() + request.limit.durationMs };
        const result = await run(send[request.sender], request.concurrency, limit);
        return { id: request.id, result, governedIds: governedIds.list() };
      }
      const t0 = performance.now();
      try {
        const measured = await send[request.sender]();
        const ms = typeof measured === 'number' ? measured : performance.now() - t0;
        return { id: request.id, ms, governedIds: governedIds.list() };
      } catch (error) {
        const text = String((error as Error).message ?? error).slice(0, 160);
        return { id: request.id, error: text, governedIds: governedIds.list() };
      }
    };
    void reply().then((message) => process.send?.(message));
  });
  process.send?.({ ready: true });
});
