// The pure rules of key versions: the fold of events into states, which version a request uses
// (canary share, suspect versions avoided, failover), and when a new version counts as unhealthy.
import { describe, expect, it } from 'vitest';
import {
  chooseVersion,
  foldKeyVersions,
  hasFailover,
  secretFingerprint,
  unhealthyReason,
  type KeyVersionEvent,
} from '../../../domain/key-versions';

const added: KeyVersionEvent[] = [
  { kind: 'add', version: 1, fingerprint: 'gsk_…aaaa', state: 'active' },
  { kind: 'add', version: 2, fingerprint: 'gsk_…bbbb', state: 'next' },
];
const states = (events: KeyVersionEvent[]) => foldKeyVersions(events).map((v) => [v.version, v.state]);

describe('key versions', () => {
  it('folds a rotation: promote, then revoke', () => {
    expect(states(added)).toEqual([
      [1, 'active'],
      [2, 'next'],
    ]);
    const promoted: KeyVersionEvent[] = [...added, { kind: 'promote', active: 2, retiring: 1 }];
    expect(states(promoted)).toEqual([
      [1, 'retiring'],
      [2, 'active'],
    ]);
    expect(states([...promoted, { kind: 'revoke', version: 1 }])).toEqual([
      [1, 'revoked'],
      [2, 'active'],
    ]);
    expect(states([...promoted, { kind: 'rollback', active: 1, demoted: 2 }])).toEqual([
      [1, 'active'],
      [2, 'next'],
    ]);
  });

  it('new requests use the active version; a canary share goes to the next one', () => {
    const canary = foldKeyVersions([...added, { kind: 'canary', version: 2, percent: 10 }]);
    expect(chooseVersion(foldKeyVersions(added), 0)?.version).toBe(1);
    expect(chooseVersion(canary, 9.99)?.version).toBe(2);
    expect(chooseVersion(canary, 10)?.version).toBe(1);
  });

  it('a suspect version is avoided while another valid one exists, and is the last resort otherwise', () => {
    const promoted: KeyVersionEvent[] = [...added, { kind: 'promote', active: 2, retiring: 1 }];
    const suspectNew = foldKeyVersions([...promoted, { kind: 'suspect', version: 2, status: 401 }]);
    expect(chooseVersion(suspectNew, 50)?.version).toBe(1);
    expect(hasFailover(suspectNew, 2)).toBe(true);
    // only one version: nothing to fail over to, requests keep using it (and get Groq's 401)
    const single = foldKeyVersions([added[0]!, { kind: 'suspect', version: 1, status: 401 }]);
    expect(chooseVersion(single, 50)?.version).toBe(1);
    expect(hasFailover(single, 1)).toBe(false);
    // an unvalidated next version is no failover target; a validated one is
    const suspectActive = foldKeyVersions([...added, { kind: 'suspect', version: 1, status: 401 }]);
    expect(hasFailover(suspectActive, 1)).toBe(false);
    const validated = foldKeyVersions([
      ...added,
      { kind: 'validated', version: 2 },
      { kind: 'suspect', version: 1, status: 401 },
    ]);
    expect(hasFailover(validated, 1)).toBe(true);
    expect(chooseVersion(validated, 50)?.version).toBe(2);
    // a revoked version is never chosen
    expect(chooseVersion(foldKeyVersions([added[0]!, { kind: 'revoke', version: 1 }]), 0)).toBeNull();
  });

  it('judges the new version by 401s and by its error rate once it has enough requests', () => {
    expect(
      unhealthyReason({ version: 2, requests: 100, errors: 1, unauthorized: 1 }, false, 0.05, 20),
    ).toMatch(/401/);
    expect(unhealthyReason({ version: 2, requests: 0, errors: 0, unauthorized: 0 }, true, 0.05, 20)).toMatch(
      /401/,
    );
    expect(
      unhealthyReason({ version: 2, requests: 10, errors: 5, unauthorized: 0 }, false, 0.05, 20),
    ).toBeNull();
    expect(
      unhealthyReason({ version: 2, requests: 40, errors: 3, unauthorized: 0 }, false, 0.05, 20),
    ).toMatch(/error rate 7.5%/);
    expect(
      unhealthyReason({ version: 2, requests: 40, errors: 2, unauthorized: 0 }, false, 0.05, 20),
    ).toBeNull();
  });

  it('shows only the last four characters of a secret', () => {
    expect(secretFingerprint('gsk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP')).toBe('gsk_…MNOP');
  });
});
