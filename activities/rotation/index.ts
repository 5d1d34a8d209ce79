/**
 * The key-rotation activities: every side effect of the `keyRotation` workflow. They take key names and
 * version numbers and resolve secrets themselves, so no secret enters the workflow's history. Each one
 * is idempotent (a retried promotion, rollback or revocation that already happened changes nothing).
 */
import { ApplicationFailure } from '@temporalio/common';
import Groq from 'groq-sdk';
import type { KeyVersion, KeyVersionEvent, VersionTraffic } from '../../domain/key-versions';
import type { LedgerStore } from '../../ledger';
import { changeKeyVersions, listKeyVersions, trafficByVersion } from '../../ledger/key-versions';
import type { Logger } from '../alerts';
import type { KeyAlert, KeyAlertSink } from '../key-alerts';
import type { SecretStore } from '../secret-store';

export interface RotationDeps {
  ledger: LedgerStore;
  store: SecretStore;
  alerts: KeyAlertSink;
  log: Logger;
  /** Groq's base URL (or the emulator's) */
  baseURL: string;
  /** tells this process's resolver that the states changed (others see it within their cache time) */
  changed?: (keyName: string) => void;
  /** a live call with a secret; default: `GET /openai/v1/models` through groq-sdk */
  listModels?: (secret: string) => Promise<string[]>;
}

export interface RotationPlan {
  oldVersion: number;
  newVersion: number;
  newFingerprint: string;
}

export const ROTATION_TARGET = (keyName: string) => `rotation:${keyName}`;

export function createRotationActivities(deps: RotationDeps) {
  const listModels =
    deps.listModels ??
    (async (secret: string) => {
      const client = new Groq({ apiKey: secret, baseURL: deps.baseURL, maxRetries: 0, timeout: 15_000 });
      const page = await client.models.list();
      return page.data.map((model) => model.id);
    });

  const change = async (
    keyName: string,
    actor: string,
    decide: (versions: KeyVersion[]) => KeyVersionEvent | null,
  ) => {
    const result = await changeKeyVersions(deps.ledger.sql, keyName, actor, decide);
    deps.changed?.(keyName);
    return result;
  };

  const refuse = (message: string) => ApplicationFailure.nonRetryable(message, 'RotationRefused');

  return {
    /** The versions a rotation of `keyName` moves between: the active one and the new (next) one. */
    async prepareRotation(input: { keyName: string; newVersion?: number }): Promise<RotationPlan> {
      const versions = await listKeyVersions(deps.ledger.sql, input.keyName);
      const active = versions.find((v) => v.state === 'active');
      if (!active) throw refuse(`${input.keyName} has no active version in the secret store`);
      const candidates = versions.filter((v) => v.state === 'next');
      const next =
        input.newVersion !== undefined
          ? candidates.find((v) => v.version === input.newVersion)
          : candidates.sort((a, b) => b.version - a.version)[0];
      if (!next) {
        throw refuse(
          input.newVersion !== undefined
            ? `${input.keyName} version ${input.newVersion} is not a next version`
            : `${input.keyName} has no next version: add one first with \`groq-governor keys upstream add ${input.keyName}\``,
        );
      }
      if ((await deps.store.get(input.keyName, next.version)) === undefined) {
        throw refuse(`the secret store has no secret for ${input.keyName} version ${next.version}`);
      }
      return { oldVersion: active.version, newVersion: next.version, newFingerprint: next.fingerprint };
    },

    /** A live call (`GET /openai/v1/models`) with the version's own secret. */
    async validateKeyVersion(input: {
      keyName: string;
      version: number;
      actor: string;
    }): Promise<{ ok: true; models: number } | { ok: false; error: string }> {
      const secret = await deps.store.get(input.keyName, input.version);
      if (secret === undefined)
        return { ok: false, error: 'the secret store has no secret for this version' };
      let models: string[];
      try {
        models = await listModels(secret);
      } catch (error) {
        const status = (error as { status?: number }).status;
        // the message of an SDK error never carries the key; the status says what matters
        return {
          ok: false,
          error: status !== undefined ? `Groq answered ${status}` : `no answer: ${(error as Error).name}`,
        };
      }
      await change(input.keyName, input.actor, () => ({ kind: 'validated', version: input.version }));
      return { ok: true, models: models.length };
    },

    async setCanary(input: { keyName: string; version: number; percent: number; actor: string }) {
      await change(input.keyName, input.actor, (versions) =>
        versions.find((v) => v.version === input.version)?.canaryPercent === input.percent
          ? null
          : { kind: 'canary', version: input.version, percent: input.percent },
      );
    },

    /** New requests move to `newVersion`; `oldVersion` becomes retiring (in-flight requests finish on it). */
    async promoteKeyVersion(input: {
      keyName: string;
      oldVersion: number;
      newVersion: number;
      actor: string;
    }) {
      await change(input.keyName, input.actor, (versions) => {
        const next = versions.find((v) => v.version === input.newVersion);
        if (next?.state === 'active') return null;
        if (!next || next.state === 'revoked') throw refuse(`version ${input.newVersion} cannot be promoted`);
        return { kind: 'promote', active: input.newVersion, retiring: input.oldVersion };
      });
    },

    /** `restore` serves again; `demote` goes back to next (not served). */
    async rollbackKeyVersion(input: { keyName: string; restore: number; demote: number; actor: string }) {
      await change(input.keyName, input.actor, (versions) => {
        const restored = versions.find((v) => v.version === input.restore);
        const demoted = versions.find((v) => v.version === input.demote);
        if (restored?.state === 'active' && demoted?.state !== 'active' && !demoted?.canaryPercent)
          return null;
        if (!restored || restored.state === 'revoked')
          throw refuse(`version ${input.restore} cannot be restored`);
        return { kind: 'rollback', active: input.restore, demoted: input.demote };
      });
    },

    /** The old version is revoked (never served again) and its secret is removed from the store. */
    async retireKeyVersion(input: { keyName: string; version: number; actor: string }) {
      await change(input.keyName, input.actor, (versions) =>
        versions.find((v) => v.version === input.version)?.state === 'revoked'
          ? null
          : { kind: 'revoke', version: input.version },
      );
      await deps.store.remove(input.keyName, input.version);
    },

    /** Cumulative requests per version (from the usage rows) and which versions are suspect. */
    async keyTraffic(input: { keyName: string }): Promise<{ traffic: VersionTraffic[]; suspect: number[] }> {
      const [traffic, versions] = await Promise.all([
        trafficByVersion(deps.ledger.sql, input.keyName),
        listKeyVersions(deps.ledger.sql, input.keyName),
      ]);
      return { traffic, suspect: versions.filter((v) => v.suspect).map((v) => v.version) };
    },

    /** One step or admin action of a rotation, in the audit log (target `rotation:<name>`). */
    async recordRotationStep(input: { keyName: string; action: string; actor: string; detail?: unknown }) {
      await deps.ledger.appendAudit({
        actor: input.actor,
        action: `rotation.${input.action}`,
        target: ROTATION_TARGET(input.keyName),
        ...(input.detail !== undefined ? { after: input.detail } : {}),
      });
    },

    async alertRotation(alert: KeyAlert) {
      await deps.alerts.notify(alert);
    },
  };
}

export type RotationActivities = ReturnType<typeof createRotationActivities>;
