// The history scan helper finds a forbidden string in every form a history could hold it.
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { dataConverterFromKeys, generateCodecKey } from '../../../workers/codec';
import { findForbidden, scanHistory } from '../../support/history-scan';

const SECRET = 'prompt-секрет-42'; // non-ASCII on purpose
const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');

describe('findForbidden', () => {
  it('finds plain text, UTF-8 bytes, and base64 at any alignment and up to three layers', () => {
    const value = {
      message: `failed: ${SECRET}`,
      bytes: Buffer.from(`xx${SECRET}yy`),
      inBase64: b64(`{"a":"${SECRET}"}`),
      embedded: `prefix ${b64(`..${SECRET}`)} suffix`,
      urlSafe: b64(`???>>>${SECRET}`).replace(/\+/g, '-').replace(/\//g, '_'),
      layered: b64(b64(b64(SECRET))),
      bytesHoldingBase64: Buffer.from(`data=${b64(SECRET)}`),
      list: [{ deep: SECRET }],
    };
    const found = findForbidden(value, [SECRET]).map((finding) => `${finding.form} ${finding.path}`);
    expect(found.sort()).toEqual(
      [
        'text message',
        'bytes bytes',
        'base64 inBase64',
        'base64 embedded',
        'base64 urlSafe',
        'base64 layered',
        'base64 bytesHoldingBase64',
        'text list[0].deep',
      ].sort(),
    );
  });

  it('finds nothing in unrelated or encrypted data, and ignores empty needles', () => {
    expect(findForbidden({ a: 'harmless', b: Buffer.from('bytes'), c: b64('other') }, [SECRET, ''])).toEqual(
      [],
    );
  });
});

describe('scanHistory', () => {
  it('reports raw findings per event, lists payloads, and decodes with the given codecs', async () => {
    const converter = dataConverterFromKeys({ current: generateCodecKey('k1'), decodeKeys: [] });
    const [codec] = converter.payloadCodecs;
    const [encrypted] = await codec!.encode([defaultPayloadConverter.toPayload({ prompt: SECRET })]);
    // fromObject takes plain numbers for the 64-bit ids, as JSON histories have them
    const history = temporal.api.history.v1.History.fromObject({
      events: [
        {
          eventId: 1,
          eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
          workflowExecutionStartedEventAttributes: { input: { payloads: [encrypted!] } },
        },
        {
          eventId: 2,
          eventType: temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
          workflowExecutionFailedEventAttributes: { failure: { message: `boom ${SECRET}` } },
        },
      ],
    });

    const raw = await scanHistory(history, { workflowId: 'wf', forbidden: [SECRET] });
    expect(raw.events).toBe(2);
    expect(raw.payloads).toEqual([
      {
        workflowId: 'wf',
        path: 'events[0].workflowExecutionStartedEventAttributes.input.payloads[0]',
        encoding: 'binary/encrypted',
        eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
      },
    ]);
    expect(raw.findings.map((finding) => [finding.form, finding.eventId, finding.path])).toEqual([
      ['text', '2', 'events[1].workflowExecutionFailedEventAttributes.failure.message'],
      ['text', undefined, '<history JSON>'],
    ]);

    const decoded = await scanHistory(history, {
      workflowId: 'wf',
      forbidden: [SECRET],
      decodeWith: [codec!],
    });
    expect(decoded.findings.filter((finding) => finding.form === 'decoded')).toMatchObject([
      { eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', eventId: '1' },
    ]);

    const stranger = dataConverterFromKeys({ current: generateCodecKey('k2'), decodeKeys: [] });
    const refused = await scanHistory(history, {
      workflowId: 'wf',
      forbidden: [SECRET],
      decodeWith: stranger.payloadCodecs,
    });
    expect(refused.undecodable).toMatchObject([{ path: expect.stringContaining('input.payloads[0]') }]);
  });
});
