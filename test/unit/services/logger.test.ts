// The process logger writes one JSON object a line, with credentials, prompt text and anything that
// looks like a key taken out, wherever it sits.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubKeys } from '../../../client/services/logger';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, level: 'info', base: { component: 'test' } }) };
}

const GROQ_KEY = 'gsk_' + 'A1b2C3d4E5f6G7h8J9k0L1m2N3p4Q5r6S7t8U9v0W1x2Y3z4';
const GATEWAY_KEY = 'ggk_AbCdEfGh12345678_secretsecretsecretsecret9999';

describe('process logger', () => {
  it('writes JSON lines with level, message and fields', () => {
    const { lines, logger } = capture();
    logger.info('started', { port: 8080 });
    logger.warn('slow', { ms: 1500 });
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'info', message: 'started', port: 8080, component: 'test' }),
      expect.objectContaining({ level: 'warn', message: 'slow', ms: 1500 }),
    ]);
  });

  it('censors credential and content fields at any depth', () => {
    const { lines, logger } = capture();
    logger.info('request', {
      authorization: `Bearer ${GATEWAY_KEY}`,
      request: { messages: [{ role: 'user', content: 'my secret plan' }], model: 'm' },
      upstream: { apiKey: GROQ_KEY, nested: { secret: 'hunter2' } },
    });
    const text = lines.join('\n');
    expect(text).not.toContain(GATEWAY_KEY);
    expect(text).not.toContain(GROQ_KEY);
    expect(text).not.toContain('my secret plan');
    expect(text).not.toContain('hunter2');
    const line = JSON.parse(lines[0]!) as { request: { model: string; messages: string } };
    expect(line.request).toEqual({ model: 'm', messages: '[redacted]' });
  });

  it('cuts key-looking strings in messages, errors and odd fields down to a fingerprint', () => {
    const { lines, logger } = capture();
    logger.warn(`upstream refused ${GROQ_KEY}`, {
      error: new Error(`401 for ${GATEWAY_KEY}`),
      detail: [`x ${GROQ_KEY} y`],
    });
    const text = lines.join('\n');
    expect(text).not.toContain(GROQ_KEY);
    expect(text).not.toContain(GATEWAY_KEY);
    expect(text).toContain('gsk_…Y3z4');
    expect(text).toContain('ggk_…9999');
  });

  it('leaves ordinary text alone', () => {
    expect(scrubKeys('gsk_short and task_1234567890')).toBe('gsk_short and task_1234567890');
  });
});
