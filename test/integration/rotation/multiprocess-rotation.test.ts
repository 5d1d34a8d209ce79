// Two `groq-governor worker` processes on one PostgreSQL ledger and one data folder (the encrypted
// secret store), requests through a gateway: a rotation started over the admin API moves every worker
// process to the new key version without a restart, no request fails, and after retirement neither
// process calls with the old key again.
import Groq from 'groq-sdk';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresOrWarn, startDeployment, type Deployment } from '../../support/multiprocess';
import { deploymentConfig } from '../../support/deployment-config';
import { adminApi, twoKeyVersions } from '../../support/rotation-deployment';

const MODEL = 'llama-3.1-8b-instant';
const KEY = 'load-test-gateway';
const CONFIG = deploymentConfig({
  org: 'Multiprocess rotation',
  teams: [{ name: 'load', keyName: KEY, secretEnv: 'GG_MP_ROTATION_KEY' }],
  maxWaitMs: null,
});

const postgres = await postgresOrWarn('MULTIPROCESS ROTATION TEST');

async function until(check: () => boolean | Promise<boolean>, what: string, tries = 1200) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(postgres.error !== null)('rotation across two worker processes', () => {
  let deployment: Deployment;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gg-mp-rotation-'));
    deployment = await startDeployment(postgres.url, {
      configYaml: CONFIG,
      workers: 0,
      workerDataDir: dataDir,
    });
  }, 180_000);
  afterAll(async () => {
    await deployment?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('every worker process follows the rotation within seconds; zero failed requests', async () => {
    const { emulator, ledger, gateway } = deployment;
    // the old secret (the one the workers also have in their environment) and a new one, in the store
    const { oldSecret, newSecret } = await twoKeyVersions(deployment, dataDir, KEY);
    await deployment.startWorker();
    await deployment.startWorker();

    const groq = new Groq({
      baseURL: gateway.url,
      apiKey: await deployment.issueMemberKey('load'),
      maxRetries: 0,
    });
    let running = true;
    let ok = 0;
    const failed: string[] = [];
    const loops = Array.from({ length: 6 }, async () => {
      while (running) {
        try {
          await groq.chat.completions.create({
            model: MODEL,
            messages: [{ role: 'user', content: 'hi' }],
            max_completion_tokens: 8,
          });
          ok++;
        } catch (error) {
          failed.push(String(error));
        }
      }
    });
    await until(() => emulator.requestCount(KEY) >= 20, 'traffic on the old key');

    const call = await adminApi(deployment);
    const started = await call('POST', '/admin/rotations', {
      key_name: KEY,
      monitor_window: '4s',
      check_interval: '500ms',
    });
    expect(started.status).toBe(201);
    let phase = '';
    await until(async () => {
      phase = String((await call('GET', `/admin/rotations/${KEY}`)).body.phase);
      return ['completed', 'rolled-back', 'aborted', 'failed'].includes(phase);
    }, 'the rotation to end');
    expect(phase).toBe('completed');
    const oldAtEnd = emulator.requestCount(KEY);
    const newAtEnd = emulator.requestCount(`${KEY}-next`);
    await until(() => emulator.requestCount(`${KEY}-next`) >= newAtEnd + 40, 'load after the rotation');
    running = false;
    await Promise.all(loops);

    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(60);
    expect(emulator.requestCount(KEY)).toBe(oldAtEnd);
    // both worker processes served the new version (their identities are in the call claims)
    const { rows } = await ledger.sql.query(
      `SELECT DISTINCT r.call_claimed_by FROM usage_records u JOIN budget_reservations r ON r.id = u.reservation_id
        WHERE u.key_name = $1 AND u.key_version = 2`,
      [KEY],
    );
    expect(rows.length).toBe(2);
    // what the worker processes logged (start-up, alerts, the rotation) holds no key material
    for (const worker of deployment.workers) {
      expect(worker.output()).toContain('Upstream key versions: encrypted file');
      for (const secret of [oldSecret, newSecret]) expect(worker.output()).not.toContain(secret.slice(4));
    }
  });
});
