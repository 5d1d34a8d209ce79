import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countMessageTokens,
  countPromptTokens,
  countTextTokens,
  directivesOf,
  DirectiveError,
  parseDirectives,
  stripDirectives,
} from '../../../emulator/tokens';
import { naturalLength, replySeed, replyText, replyWords } from '../../../emulator/replies';

describe('token rule', () => {
  it('counts ceil(code points / 4) per whitespace-separated run', () => {
    expect(countTextTokens('')).toBe(0);
    expect(countTextTokens('   \n\t ')).toBe(0);
    expect(countTextTokens('a')).toBe(1);
    expect(countTextTokens('abcd')).toBe(1);
    expect(countTextTokens('abcde')).toBe(2);
    expect(countTextTokens('Hello there, how are you?')).toBe(2 + 2 + 1 + 1 + 1);
    expect(countTextTokens('  spaced\n\nout  ')).toBe(2 + 1);
    // astral characters count as one code point each
    expect(countTextTokens('😀😀😀😀😀')).toBe(2);
  });

  it('adds 4 per message and 3 for priming; tools and tool calls count as their JSON', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there, how are you?' },
    ];
    expect(countMessageTokens(messages[0]!)).toBe(4 + 1 + 2);
    expect(countPromptTokens(messages)).toBe(3 + (4 + 3) + (4 + 7));
    const tools = [{ type: 'function', function: { name: 'lookup' } }];
    expect(countPromptTokens(messages, tools)).toBe(
      countPromptTokens(messages) + countTextTokens(JSON.stringify(tools)),
    );
    const withCalls = { role: 'assistant', content: null, tool_calls: [{ id: 'x' }] };
    expect(countMessageTokens(withCalls)).toBe(4 + countTextTokens('[{"id":"x"}]'));
  });

  it('reads array content: text parts as text, image parts as 85', () => {
    const message = {
      role: 'user',
      content: [
        { type: 'text', text: 'abcd efgh' },
        { type: 'image_url', image_url: { url: 'data:' } },
      ],
    };
    expect(countMessageTokens(message)).toBe(4 + 2 + 85);
  });

  it('does not count directives', () => {
    const plain = [{ role: 'user', content: 'Summarize this please' }];
    const directed = [{ role: 'user', content: 'Summarize this [[emulator:completion_tokens=120]] please' }];
    expect(countPromptTokens(directed)).toBe(countPromptTokens(plain));
    expect(stripDirectives('a[[emulator:cached_tokens=5]]b')).toBe('a b');
  });

  it('parses directives from the last user message only', () => {
    expect(parseDirectives('x [[emulator:completion_tokens=120]] [[emulator:cached_tokens=7]]')).toEqual({
      completionTokens: 120,
      cachedTokens: 7,
    });
    const messages = [
      { role: 'user', content: '[[emulator:completion_tokens=5]]' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'again [[emulator:cached_tokens=2]]' },
    ];
    expect(directivesOf(messages)).toEqual({ cachedTokens: 2 });
    expect(() => parseDirectives('[[emulator:completion_token=5]]')).toThrow(DirectiveError);
    expect(() => parseDirectives('[[emulator:completion_tokens=-1]]')).toThrow(DirectiveError);
  });
});

describe('replies', () => {
  const seed = replySeed({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

  it('are deterministic and depend on the request content', () => {
    const again = replySeed({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const other = replySeed({ model: 'm', messages: [{ role: 'user', content: 'hi!' }] });
    expect(again.equals(seed)).toBe(true);
    expect(other.equals(seed)).toBe(false);
    expect(replyWords(seed, 20)).toEqual(replyWords(again, 20));
    expect(naturalLength(seed)).toBeGreaterThanOrEqual(8);
    expect(naturalLength(seed)).toBeLessThanOrEqual(64);
  });

  it('have exactly as many tokens as words requested, under the same token rule', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(300),
        fc.boolean(),
        (bytes, count, done) => {
          const words = replyWords(Buffer.from(bytes), count, done);
          expect(words).toHaveLength(count);
          expect(countTextTokens(replyText(words))).toBe(count);
        },
      ),
    );
  });

  it('capped replies are a prefix of the longer reply', () => {
    const full = replyText(replyWords(seed, 40));
    const capped = replyText(replyWords(seed, 10, false));
    expect(full.startsWith(capped)).toBe(true);
  });
});
