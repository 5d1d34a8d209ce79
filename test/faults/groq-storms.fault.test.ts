// Groq storms, injected at the emulator while requests go through the gateway to one worker process:
// bursts of 429 with retry-after, of 5xx, calls that never answer (timeouts), streams cut mid-way, and
// a revoked upstream key. Each storm is audited on its own (requests since its start).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClient, sendSpaced } from '../support/fault-load';
import { endScenario, lastAnswerAfter } from '../support/fault-scenario';
import { postgresOrWarn, startDeployment, type Deployment } from '../support/multiprocess';
import { deploymentConfig } from '../support/deployment-config';

const MODEL = 'llama-3.1-8b-instant';

const CONFIG = deploymentConfig({
  org: 'Fault storms',
  teams: [
    { name: 'storm', keyName: 'storm-test-gateway', secretEnv: 'GG_FAULT_STORM_KEY' },
    { name: 'doomed', keyName: 'doomed-test-gateway', secretEnv: 'GG_FAULT_DOOMED_KEY' },
  ],
});

const postgres = await postgresOrWarn('FAULT SUITE: GROQ STORMS');

describe.skipIf(postgres.error !== null)('Groq storms', () => {
  let deployment: Deployment;
  let storm: ReturnType<typeof loadClient>;
  let doomed: ReturnType<typeof loadClient>;

  beforeAll(async () => {
    deployment = await startDeployment(postgres.url, { configYaml: CONFIG, workers: 1, latencyMs: 50 });
    const gatewayUrl = deployment.gateway.url;
    storm = loadClient({ gatewayUrl, apiKey: await deployment.issueMemberKey('storm'), model: MODEL });
    doomed = loadClient({ gatewayUrl, apiKey: await deployment.issueMemberKey('doomed'), model: MODEL });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
  }, 60_000);

  function end(scenario: string, sent: Awaited<ReturnType<typeof sendSpaced>>, since: number, extra = {}) {
    return endScenario({
      scenario,
      sql: deployment.ledger.sql,
      billedCalls: () => deployment.emulator.billedCalls(),
      sent,
      recoverMs: lastAnswerAfter(sent, since),
      expect: { since, ...extra },
    });
  }

  it('a burst of 429 with retry-after: retried after the wait, nothing billed twice', async () => {
    const since = Date.now();
    deployment.emulator.injectFault({
      kind: 'status',
      status: 429,
      retryAfter: 1,
      count: 8,
      key: 'storm-test-gateway',
    });
    const sent = await sendSpaced((label) => storm.send(label), 'storm-429', 10, 20);
    // a request may meet 429 on each of its 4 attempts: then the caller gets Groq's 429
    await end('Groq 429 burst (retry-after 1 s)', sent, since, { expectedStatuses: [429] });
  });

  it('a burst of 500/502/503: retried with backoff, the bill matches', async () => {
    const since = Date.now();
    for (const status of [500, 502, 503])
      deployment.emulator.injectFault({ kind: 'status', status, count: 3, key: 'storm-test-gateway' });
    const sent = await sendSpaced((label) => storm.send(label), 'storm-5xx', 10, 20);
    await end('Groq 5xx burst', sent, since, { expectedStatuses: [500, 502, 503] });
  });

  it('calls that never answer: the attempt is held as unknown, the request retried', async () => {
    const since = Date.now();
    deployment.emulator.injectFault({ kind: 'timeout', count: 2, key: 'storm-test-gateway' });
    const sent = await sendSpaced((label) => storm.send(label), 'storm-timeout', 4, 20);
    await end('Groq timeouts (no answer)', sent, since);
  });

  it('streams cut mid-way: billed for what was sent, the reservation kept as unknown', async () => {
    const since = Date.now();
    deployment.emulator.injectFault({
      kind: 'cut_stream',
      afterChunks: 4,
      count: 3,
      key: 'storm-test-gateway',
    });
    const sent = await sendSpaced(
      (label) => storm.send(label, { stream: true, maxTokens: 32 }),
      'storm-cut',
      6,
      20,
    );
    await end('Groq streams cut mid-way', sent, since, { cutStreams: true });
  });

  it("a revoked upstream key: its team gets Groq's 401, the other team is unaffected", async () => {
    const since = Date.now();
    deployment.emulator.revokeKey('doomed-test-gateway');
    const sent = (
      await Promise.all([
        sendSpaced((label) => doomed.send(label), 'revoked', 4, 20),
        sendSpaced((label) => storm.send(label), 'unaffected', 4, 20),
      ])
    ).flat();
    await end('Groq revoked key', sent, since, { expectedStatuses: [401] });
    expect(sent.filter((s) => s.label.startsWith('revoked')).map((s) => s.status)).toEqual([
      401, 401, 401, 401,
    ]);
    expect(sent.filter((s) => s.label.startsWith('unaffected')).map((s) => s.status)).toEqual([
      200, 200, 200, 200,
    ]);
  });
});
