import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatKeyName, isValidKeyName, keyNameProblem, parseKeyName } from '../../../domain/keyName';

describe('upstream key names {team}-{env}-{purpose}', () => {
  it('parses valid names', () => {
    expect(parseKeyName('chatbot-prod-gateway')).toEqual({
      team: 'chatbot',
      env: 'prod',
      purpose: 'gateway',
    });
    expect(parseKeyName('data_eng-staging-batch-2026-04')).toEqual({
      team: 'data_eng',
      env: 'staging',
      purpose: 'batch-2026-04',
    });
    expect(parseKeyName('a1-dev2-9')).toEqual({ team: 'a1', env: 'dev2', purpose: '9' });
  });

  it.each([
    ['', /empty/],
    ['chatbot-prod', /2 part\(s\), needs three/],
    ['chatbot', /1 part\(s\)/],
    ['Chatbot-prod-gateway', /lower-case/],
    ['chatbot-prod-gate way', /may only contain/],
    ['1chat-prod-gateway', /team "1chat"/],
    ['chatbot--gateway', /env ""/],
    ['chatbot-prod_1-gateway', /env "prod_1"/],
    ['chatbot-prod--x', /purpose "-x"/],
    ['chatbot-prod-', /purpose ""/],
  ])('refuses %j with a reason', (name, reason) => {
    expect(parseKeyName(name)).toBeNull();
    expect(isValidKeyName(name)).toBe(false);
    expect(keyNameProblem(name)).toMatch(reason);
  });

  it('format and parse are inverse on every valid triple', () => {
    const team = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/);
    const env = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    const purpose = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
    fc.assert(
      fc.property(team, env, purpose, (t, e, p) => {
        const name = formatKeyName({ team: t, env: e, purpose: p });
        expect(parseKeyName(name)).toEqual({ team: t, env: e, purpose: p });
        expect(keyNameProblem(name)).toBeNull();
      }),
    );
  });

  it('any string is either parsed or given a reason, never both, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-zA-Z0-9_ -]{0,20}$/)), (name) => {
        const parsed = parseKeyName(name);
        const problem = keyNameProblem(name);
        expect(parsed === null).toBe(problem !== null);
        if (parsed) expect(`${parsed.team}-${parsed.env}-${parsed.purpose}`).toBe(name);
      }),
      { numRuns: 500 },
    );
  });

  it('formatKeyName refuses parts that do not fit', () => {
    expect(() => formatKeyName({ team: 'chat-bot', env: 'prod', purpose: 'x' })).toThrow(RangeError);
    expect(() => formatKeyName({ team: 'chat', env: 'PROD', purpose: 'x' })).toThrow(/lower-case/);
  });
});
