// The one text rule (domain/text-input.ts) and the bounded admin/batch schemas (domain/admin-requests.ts).
import { describe, expect, it } from 'vitest';
import { batchCreateSchema, check, keyIssueSchema, rotationStartSchema } from '../../domain/admin-requests';
import { parseSubcommand } from '../../client/cli/args';
import { validateBatchLines } from '../../domain/batch-lines';
import { MAX_JSON_DEPTH, jsonFault, parseJsonInput, textFault } from '../../domain/text-input';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('the text rule', () => {
  it('refuses NUL and lone surrogates, and passes everything Groq accepts unchanged', () => {
    for (const bad of ['\u0000', 'a\u0000b', '\uD800', 'x\uDBFF', '\uDC00', '\uDFFFy', '\uDC00\uD800'])
      expect(textFault(bad, 'messages[0].content'), JSON.stringify(bad)).toMatchObject({
        path: 'messages[0].content',
      });
    for (const good of [
      '',
      'hi',
      '😀',
      '\uD83D\uDE00',
      '\uFEFFbom',
      '\u202Eevil',
      '\u200F',
      'e\u0301',
      '\u0001',
      '中文',
    ])
      expect(textFault(good, 'x'), JSON.stringify(good)).toBeUndefined();
    expect(textFault('abcd', 'team', 3)?.message).toBe('team must have at most 3 characters.');
  });

  it('names the path of the first bad string or key in a JSON value, and bounds depth', () => {
    expect(jsonFault({ a: [{ b: 'ok' }, { c: 'x\u0000' }] })?.path).toBe('a[1].c');
    expect(jsonFault({ metadata: { '\ud800': 'v' } })).toMatchObject({ path: 'metadata' });
    expect(jsonFault({ metadata: { ['k'.repeat(257)]: 'v' } })?.path).toBe('metadata');
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) deep = [deep];
    expect(jsonFault(deep)).toBeUndefined();
    expect(jsonFault([deep])?.message).toMatch(/nested deeper/);
    let deeper: unknown = 1;
    for (let i = 0; i < 200_000; i++) deeper = { a: deeper };
    expect(jsonFault(deeper)?.message).toMatch(/nested deeper/);
  });

  it('parses bodies: invalid UTF-8 (overlong, encoded surrogates, truncated) refused, BOM kept', () => {
    const wrap = (...inner: number[]) => bytes(0x22, ...inner, 0x22);
    for (const sequence of [
      [0xc0, 0x80],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xff],
      [0xe2, 0x82],
    ])
      expect(parseJsonInput(wrap(...sequence)).ok, sequence.join(' ')).toBe(false);
    expect(parseJsonInput(Buffer.from('"\\ud800"'))).toMatchObject({ ok: false });
    expect(parseJsonInput(Buffer.from('{"a":"\\u0000"}'))).toMatchObject({ ok: false, fault: { path: 'a' } });
    expect(parseJsonInput(Buffer.from('"😀\\ud83d\\ude00"'))).toEqual({ ok: true, value: '😀😀' });
    expect(parseJsonInput(Buffer.from('\uFEFF{}')).ok).toBe(false);
    expect(parseJsonInput(Buffer.from(''), { empty: {} })).toEqual({ ok: true, value: {} });
    expect(parseJsonInput(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000))).ok).toBe(false);
  });
});

describe('bounded admin and batch bodies', () => {
  it('bounds every field and names it', () => {
    expect(check(keyIssueSchema, { team: 'a'.repeat(65), role: 'member' })).toMatchObject({
      ok: false,
      param: 'team',
    });
    expect(check(keyIssueSchema, { role: 'member', models: ['x'.repeat(257)] })).toMatchObject({
      ok: false,
      param: 'models[0]',
    });
    expect(
      check(batchCreateSchema, {
        input_file_id: 'f',
        endpoint: 'e',
        completion_window: '1h',
        metadata: { a: 1 },
      }),
    ).toMatchObject({ ok: false, param: 'metadata.a' });
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(
      check(batchCreateSchema, { input_file_id: 'f', endpoint: 'e', completion_window: '1h', metadata: many })
        .ok,
    ).toBe(false);
  });

  it('refuses rotation number edges before any workflow', () => {
    for (const version of [-0, 0, 1.5, 1e308, 2 ** 53 + 2, -1])
      expect(check(rotationStartSchema, { key_name: 'a-b-c', version }).ok, String(version)).toBe(false);
    for (const monitor_window of [-0, 0, 1e308, Infinity, '1e308ms', '-1h', 'x'.repeat(40)])
      expect(
        check(rotationStartSchema, { key_name: 'a-b-c', monitor_window }).ok,
        String(monitor_window),
      ).toBe(false);
    expect(check(rotationStartSchema, { key_name: 'a-b-c', version: 2, monitor_window: '1h' })).toMatchObject(
      {
        ok: true,
        value: { version: 2, monitor_window: 3_600_000 },
      },
    );
  });
});

describe('batch lines under the text rule', () => {
  it('reports a line whose JSON escapes hold NUL or a lone surrogate, with the field path', () => {
    const line = (content: string, customId = 'a') =>
      JSON.stringify({
        custom_id: customId,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'm', messages: [{ role: 'user', content }] },
      });
    const result = validateBatchLines(
      [line('fine 😀'), line('a\u0000b', 'b'), line('\ud800', 'c'), line('ok', 'd\u0000')].join('\n'),
      { allowedModels: ['m'], maxTokensPerRequest: 10 },
    );
    expect(result.lines.map((l) => l.line)).toEqual([1]);
    expect(result.errors.map((e) => [e.line, e.param])).toEqual([
      [2, 'body.messages[0].content'],
      [3, 'body.messages[0].content'],
      [4, 'custom_id'],
    ]);
  });
});

describe('CLI flags and arguments under the text rule', () => {
  it('refuses a flag or argument with NUL, a lone surrogate or 4,097 characters, with exit code 2', () => {
    const errors: string[] = [];
    const io = { stdout: () => undefined, stderr: (text: string) => errors.push(text) };
    const keys = {
      create: { team: { type: 'string' as const }, models: { type: 'string' as const, multiple: true } },
    };
    expect(parseSubcommand('keys', ['create', '--team', 'alpha\u0000'], keys, 'usage', io)).toBe(2);
    expect(
      parseSubcommand('keys', ['create', '--models', 'a', '--models', '\ud800'], keys, 'usage', io),
    ).toBe(2);
    expect(parseSubcommand('keys', ['create', 'x'.repeat(4_097)], keys, 'usage', io)).toBe(2);
    expect(errors).toEqual([
      '--team must not contain the NUL character (\\u0000).',
      '--models must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair).',
      'argument 1 must have at most 4096 characters.',
    ]);
    const fine = parseSubcommand('keys', ['create', '--team', 'alpha \u202E😀'], keys, 'usage', io);
    expect(fine).toMatchObject({ command: 'create', flags: { team: 'alpha \u202E😀' } });
  });
});
