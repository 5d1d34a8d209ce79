import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { promptTokenBound, promptTokenEstimate } from '../../domain/prompt-tokens';
import { countPromptTokens } from '../../emulator';

const role = fc.constantFrom('system', 'user', 'assistant');
const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text }),
  fc.record({ type: fc.constant('image_url'), image_url: fc.record({ url: fc.webUrl() }) }),
);
const message = fc.record({ role, content: fc.oneof(text, fc.array(part, { maxLength: 4 })) });

describe('prompt token bound', () => {
  it('is never below what the emulator counts for the same messages', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
        expect(promptTokenBound(messages)).toBeGreaterThanOrEqual(countPromptTokens(messages));
      }),
      { numRuns: 2000 },
    );
  });

  it('is never below one token per UTF-8 byte of content', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ role, content: text }), { minLength: 1, maxLength: 8 }),
        (messages) => {
          const bytes = messages.reduce((sum, m) => sum + new TextEncoder().encode(m.content).length, 0);
          expect(promptTokenBound(messages)).toBeGreaterThanOrEqual(bytes);
        },
      ),
    );
  });

  it('counts tools too', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    expect(promptTokenBound(messages, tools)).toBeGreaterThan(promptTokenBound(messages));
    expect(promptTokenBound(messages, tools)).toBeGreaterThanOrEqual(countPromptTokens(messages, tools));
  });

  it('estimates English text at roughly a quarter of its bound', () => {
    const messages = [
      { role: 'user', content: 'Summarise the quarterly report in three sentences, please.' },
    ];
    const estimate = promptTokenEstimate(messages);
    expect(estimate).toBeLessThan(promptTokenBound(messages) / 2);
    expect(estimate).toBeGreaterThanOrEqual(countPromptTokens(messages) / 2);
  });
});
