import { describe, expect, it } from 'vitest';
import { formatProblems, parseConfig } from '../../../domain/config';
import { exampleText, problemsOf } from './helpers';

describe('YAML syntax errors', () => {
  it('are located by line and column, without a stack trace', () => {
    const text = 'org:\n  name: Acme\n  timezone: [UTC\n  monthlyCapUsd: 1\n';
    const problems = problemsOf(parseConfig(text, 'bad.yaml'));
    expect(problems.length).toBeGreaterThanOrEqual(1);
    const [first] = problems;
    expect(first?.path).toMatch(/^line \d+, column \d+$/);
    expect(first?.message).toMatch(/^YAML syntax error: /);
    expect(first?.line).toBeGreaterThanOrEqual(3);
    expect(formatProblems(problems)).not.toMatch(/\n\s+at |Error:/);
  });

  it('a bad indentation in the middle of the example points at its line', () => {
    const lines = exampleText.split('\n');
    const index = lines.findIndex((line) => line.includes('maxTokensPerRequest: 512'));
    lines[index] = '      maxTokensPerRequest: 512';
    const problems = problemsOf(parseConfig(lines.join('\n')));
    expect(problems[0]).toMatchObject({ line: index + 1 });
    expect(problems[0]?.path).toBe(`line ${index + 1}, column ${problems[0]?.column}`);
  });

  it('duplicate keys are an error, not last-one-wins', () => {
    const text = exampleText.replace('    rpm: 60\n', '    rpm: 60\n    rpm: 6000\n');
    const problems = problemsOf(parseConfig(text));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/unique/);
    expect(text.split('\n')[problems[0]!.line! - 1]).toBe('    rpm: 6000');
  });

  it('tabs, several documents, unresolved aliases and unknown tags are reported', () => {
    expect(problemsOf(parseConfig('org:\n\tname: x\n'))[0]?.message).toMatch(/syntax error/);
    expect(problemsOf(parseConfig('a: 1\n---\nb: 2\n'))[0]?.message).toMatch(/multiple documents/);
    expect(problemsOf(parseConfig('a: *nowhere\n'))[0]).toMatchObject({ path: '(yaml)' });
    expect(problemsOf(parseConfig('org: !secret x\n'))[0]?.message).toMatch(/Unresolved tag/);
  });

  it('anchors and merge keys work, and an alias bomb is refused', () => {
    const text = exampleText
      .replace('  chatbot:\n', '  chatbot: &chat\n')
      .replace('  analytics:\n', '  chatbot2:\n    <<: *chat\n    monthlyBudgetUsd: "5"\n  analytics:\n');
    const result = parseConfig(text);
    expect(result.ok && result.config.teams.get('chatbot2')?.monthlyBudgetNanos).toBe(5_000_000_000n);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++)
      bomb.push(
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
          .fill(i === 0 ? '*a' : `*${'b'.repeat(i)}`)
          .join(', ')}]`,
      );
    const problems = problemsOf(parseConfig(bomb.join('\n')));
    expect(problems[0]?.message).toMatch(/alias|Excessive/i);
  });
});
