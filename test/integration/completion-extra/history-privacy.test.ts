// What governed completions leave in Temporal's stored histories when the payload codec is on: requests
// sent through the gateway with the official groq-sdk (JSON and streamed) put no prompt, no completion
// text, no gateway key secret and no upstream Groq key anywhere in the raw histories of the stack's task
// queue, nor in what `temporal workflow show --output json` prints; an authorized reader (the codec)
// does find the prompt, so the silence of the raw scan means something.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import Groq from 'groq-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { completionWorkflowId } from '../../../domain/request-ids';
import { ENCODING_ENCRYPTED } from '../../../workers/codec';
import { startCompletionStack, type CompletionStack } from '../../support/completion-stack';
import { describeFindings, findForbidden, scanHistories, type HistoryScan } from '../../support/history-scan';
import { devServerEnv } from '../../support/temporal';

const run = promisify(execFile);
const PROMPT_MARKER = `PROMPT-MARKER-${Math.random().toString(36).slice(2, 12)}`;

/** A run of words from the middle of a reply: long and specific enough to be found nowhere by chance. */
function wordRun(text: string, words = 8): string {
  const all = text.trim().split(/\s+/);
  expect(all.length).toBeGreaterThanOrEqual(words);
  return all.slice(2, 2 + words).join(' ');
}

describe('history privacy of governed completions (codec on, through the gateway)', () => {
  let env: TestWorkflowEnvironment;
  let stack: CompletionStack;
  let gatewayKey: string;
  const workflowIds: string[] = [];
  const completionMarkers: string[] = [];
  let forbidden: string[];
  let raw: HistoryScan;

  beforeAll(async () => {
    env = await devServerEnv();
    stack = await startCompletionStack(env, { gateway: true, codec: true });
    gatewayKey = (await stack.issue('alpha')).key;
    const groq = new Groq({ baseURL: stack.gateway!.url, apiKey: gatewayKey, maxRetries: 0 });

    // a JSON completion
    const { data, response } = await groq.chat.completions
      .create({
        model: 'llama-3.1-8b-instant',
        messages: [
          { role: 'system', content: `You are terse. ${PROMPT_MARKER}-system` },
          { role: 'user', content: `Tell me about ${PROMPT_MARKER} [[emulator:completion_tokens=40]]` },
        ],
        max_completion_tokens: 64,
      })
      .withResponse();
    const jsonText = data.choices[0]?.message.content ?? '';
    completionMarkers.push(wordRun(jsonText));
    workflowIds.push(completionWorkflowId(response.headers.get('x-request-id')!));

    // a streamed completion
    const { data: stream, response: streamResponse } = await groq.chat.completions
      .create({
        model: 'llama-3.1-8b-instant',
        messages: [
          { role: 'user', content: `Stream about ${PROMPT_MARKER} [[emulator:completion_tokens=40]]` },
        ],
        max_completion_tokens: 64,
        stream: true,
      })
      .withResponse();
    let streamText = '';
    for await (const chunk of stream) streamText += chunk.choices[0]?.delta.content ?? '';
    completionMarkers.push(wordRun(streamText));
    const streamWorkflowId = completionWorkflowId(streamResponse.headers.get('x-request-id')!);
    workflowIds.push(streamWorkflowId);

    // both workflows closed (the stream's books its outcome after the signal)
    for (const id of workflowIds) await stack.client.workflow.getHandle(id).result();

    const gatewaySecret = gatewayKey.slice(gatewayKey.lastIndexOf('_') + 1);
    expect(gatewaySecret).toHaveLength(40);
    const upstreamSecrets = Object.values(stack.emulator.addedKeys);
    expect(upstreamSecrets.length).toBe(stack.config.upstreamKeys.length);
    forbidden = [PROMPT_MARKER, ...completionMarkers, gatewaySecret, gatewayKey, ...upstreamSecrets];

    // every history of the stack's task queue (visibility may lag behind the closes by a moment)
    const query = `TaskQueue = '${stack.taskQueue}'`;
    for (;;) {
      raw = await scanHistories({ client: env.client, query, forbidden });
      if (raw.histories >= workflowIds.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  afterAll(async () => {
    await stack?.close();
    await env?.teardown();
  });

  it('sees both workflows and only encrypted payloads in them, but for local activity markers', async () => {
    expect(raw.histories).toBe(workflowIds.length);
    expect(raw.payloads.length).toBeGreaterThan(0);
    // the stream's update and signal carried payloads too
    const types = new Set(raw.payloads.map((payload) => payload.eventType));
    expect(types).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED');
    expect(types).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    // Temporal's core SDK writes each local activity marker's bookkeeping (`details.data`: sequence
    // number, activity id and type, attempt, times) itself, outside the data converter; the activity's
    // result (`details.result`) is encrypted like everything else. The gateway starts
    // governedCompletionV2, which takes no patch: no patch marker, no `TemporalChangeVersion` search
    // attribute
    expect(types).not.toContain('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
    const plain = raw.payloads.filter((payload) => payload.encoding !== ENCODING_ENCRYPTED);
    for (const payload of plain) {
      expect(payload.eventType).toBe('EVENT_TYPE_MARKER_RECORDED');
      expect(payload.path).toMatch(/\.markerRecordedEventAttributes\.details\.data\.payloads\[0\]$/);
    }
    const activityTypes = new Set<string>();
    const patches = new Set<string>();
    for (const workflowId of workflowIds) {
      const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events ?? []) {
        const details = event.markerRecordedEventAttributes?.details;
        if (!details) continue;
        if (details['patch-data']) {
          const patch = JSON.parse(
            Buffer.from(details['patch-data'].payloads![0]!.data!).toString('utf8'),
          ) as { id?: unknown };
          patches.add(String(patch.id));
          continue;
        }
        expect(details.result?.payloads?.[0]?.metadata?.encoding).toEqual(Buffer.from(ENCODING_ENCRYPTED));
        const data = JSON.parse(Buffer.from(details.data!.payloads![0]!.data!).toString('utf8')) as Record<
          string,
          unknown
        >;
        expect(
          Object.keys(data).filter(
            (key) =>
              ![
                'seq',
                'attempt',
                'activity_id',
                'activity_type',
                'complete_time',
                'backoff',
                'original_schedule_time',
              ].includes(key),
          ),
        ).toEqual([]);
        activityTypes.add(String(data.activity_type));
      }
    }
    // the JSON completion: one step (authorize, then the call with its alerts); the stream: authorize,
    // then one step for its booking and alerts after the gateway's report
    expect([...activityTypes].sort()).toEqual(['authorize', 'authorizeAndCall', 'finishStream'].sort());
    expect([...patches]).toEqual([]);
  });

  it('leaves no prompt, completion text, gateway key secret or upstream key in any raw history', () => {
    expect(raw.findings, describeFindings(raw.findings)).toEqual([]);
  });

  it('finds the prompt marker once decoded with the codec (the scan is not blind)', async () => {
    const decoded = await scanHistories({
      client: env.client,
      workflowIds,
      forbidden,
      decodeWith: stack.dataConverter!.payloadCodecs,
    });
    expect(decoded.undecodable).toEqual([]);
    expect(decoded.findings.every((finding) => finding.form === 'decoded')).toBe(true);
    const prompt = decoded.findings.filter((finding) => finding.forbidden === PROMPT_MARKER);
    // in both workflows' inputs
    expect(new Set(prompt.map((finding) => finding.workflowId))).toEqual(new Set(workflowIds));
    // the JSON completion's text is in its workflow's result (the stream's never passes through history)
    expect(
      decoded.findings.some(
        (finding) => finding.forbidden === completionMarkers[0] && finding.workflowId === workflowIds[0],
      ),
    ).toBe(true);
    // secrets stay out even for a reader holding the codec key
    const secrets = decoded.findings.filter(
      (finding) => finding.forbidden !== PROMPT_MARKER && !completionMarkers.includes(finding.forbidden),
    );
    expect(secrets, describeFindings(secrets)).toEqual([]);
    // streamed tokens never enter history, encrypted or not
    const streamText = decoded.findings.filter((finding) => finding.forbidden === completionMarkers[1]);
    expect(streamText, describeFindings(streamText)).toEqual([]);
  });

  it('shows none of it through `temporal workflow show --output json`', async () => {
    for (const workflowId of workflowIds) {
      const { stdout } = await run(
        inject('temporalBinaries').temporal,
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--address',
          inject('temporalDevAddress'),
          '--namespace',
          'default',
          '--output',
          'json',
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      expect(stdout).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
      expect(stdout).toContain(Buffer.from(ENCODING_ENCRYPTED).toString('base64'));
      const findings = findForbidden(JSON.parse(stdout), forbidden);
      expect(findings, `${workflowId}\n${describeFindings(findings)}`).toEqual([]);
      for (const text of forbidden) expect(stdout).not.toContain(text);
    }
  });
});
