/**
 * The keys a new data folder starts with: on the first `up` of a folder whose ledger holds no gateway
 * key yet, an org-admin key and a demo member key for the first configured team are issued and written
 * to `<dataDir>/first-run-keys.txt` (mode 0600, created exclusively). `up` prints the demo key once,
 * with commands that use it; later starts only say where the file is.
 */
import { open, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GovernorConfig } from '../../domain/config';
import type { LedgerStore } from '../../ledger/store';
import { bootstrapOrgAdmin, issueKey, listKeys, type IssuedKey } from './gateway-keys';

export const FIRST_RUN_KEYS_FILE = 'first-run-keys.txt';

export type FirstRunKeys =
  | {
      kind: 'created';
      path: string;
      admin: IssuedKey;
      /** absent when the configuration has no team */
      demo?: { issued: IssuedKey; team: string; model: string };
    }
  /** the file from the first start is still there */
  | { kind: 'exists'; path: string }
  /** the ledger already held keys (made before the first start, or the file was deleted) */
  | { kind: 'none' };

export async function ensureFirstRunKeys(options: {
  ledger: LedgerStore;
  config: GovernorConfig;
  dataDir: string;
  actor?: string;
  now?: Date;
}): Promise<FirstRunKeys> {
  const path = join(options.dataDir, FIRST_RUN_KEYS_FILE);
  if (existsSync(path)) return { kind: 'exists', path };
  const existing = await listKeys(options.ledger, 'operator', { includeInactive: true });
  if (existing.length > 0) return { kind: 'none' };

  const now = options.now ?? new Date();
  const actor = options.actor ?? 'governor:first-run';
  // the file is created first (exclusively, owner-only), so two starts never both issue keys
  const handle = await open(path, 'wx', 0o600);
  try {
    const admin = await bootstrapOrgAdmin(options.ledger, {
      name: 'first org-admin key',
      auditActor: actor,
      now,
    });
    const [team] = options.config.teams.values();
    const model = team?.allowedModels[0];
    const demo =
      team && model !== undefined
        ? {
            issued: await issueKey(
              options.ledger,
              'operator',
              { team: team.name, role: 'member', name: 'demo key (first run)' },
              options.config,
              { auditActor: actor, now },
            ),
            team: team.name,
            model,
          }
        : undefined;
    const lines = [
      `# Groq Governor: the keys issued on the first start of this data folder (${now.toISOString()}).`,
      '# The ledger stores only their hashes, and `up` printed only the demo key, once. Keep this file',
      '# private (mode 0600): move the keys somewhere safe, then delete it.',
      '# Revoke a key with: node bin/groq-governor.js keys revoke ID',
      '',
      `org-admin key (id ${admin.record.id}, org-level):`,
      admin.key,
      ...(demo
        ? ['', `demo member key (id ${demo.issued.record.id}, team ${demo.team}):`, demo.issued.key]
        : []),
      '',
    ];
    await handle.writeFile(lines.join('\n'));
    await handle.close();
    return { kind: 'created', path, admin, ...(demo ? { demo } : {}) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  }
}

/** Commands that use the demo key, exactly as printed: curl, and groq-sdk from the project folder. */
export function demoCommands(
  gatewayUrl: string,
  key: string,
  model: string,
): { curl: string; groqSdk: string } {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello' }] });
  const curl =
    `curl -s ${gatewayUrl}/openai/v1/chat/completions -H 'Authorization: Bearer ${key}' ` +
    `-H 'Content-Type: application/json' -d '${body}'`;
  const script =
    `import Groq from 'groq-sdk'; ` +
    `const groq = new Groq({ baseURL: '${gatewayUrl}', apiKey: '${key}' }); ` +
    `const answer = await groq.chat.completions.create({ model: '${model}', messages: [{ role: 'user', content: 'Say hello' }] }); ` +
    `console.log(answer.choices[0].message.content);`;
  return { curl, groqSdk: `node --input-type=module -e "${script}"` };
}
