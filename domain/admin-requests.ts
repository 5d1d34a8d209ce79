/**
 * The shapes of the admin and batch request bodies, with a length bound on every string field. The
 * text rule itself (no NUL, no lone surrogate, bounded depth) is applied before these, once, where the
 * body is read (`domain/text-input.ts`); these name the field of anything else that is wrong. Fields
 * the gateway does not know are ignored, as before.
 */
import { z } from 'zod';
import { parseDurationMs } from './config/duration';
import { formatIssuePath } from './issue-path';

/** Bounds per field, in characters (docs/security.md lists them). */
export const FIELD_LIMITS = {
  team: 64,
  role: 32,
  keyName: 100,
  expiresIn: 32,
  model: 256,
  modelsPerKey: 64,
  fileId: 128,
  endpoint: 64,
  completionWindow: 16,
  mode: 32,
  metadataPairs: 16,
  metadataKey: 64,
  metadataValue: 512,
  upstreamKeyName: 128,
  reason: 1000,
  duration: 32,
  filename: 255,
  purpose: 32,
  customId: 512,
  queryValue: 1024,
} as const;

/** The longest duration a rotation field may ask for: a year. */
export const MAX_DURATION_MS = 366 * 24 * 60 * 60 * 1000;

const text = (max: number) => z.string().max(max);

/** POST /admin/keys */
export const keyIssueSchema = z.looseObject({
  team: text(FIELD_LIMITS.team).nullish(),
  role: text(FIELD_LIMITS.role),
  name: text(FIELD_LIMITS.keyName).nullish(),
  expires_in: text(FIELD_LIMITS.expiresIn).nullish(),
  models: z.array(text(FIELD_LIMITS.model)).max(FIELD_LIMITS.modelsPerKey).nullish(),
});
export type KeyIssueBody = z.infer<typeof keyIssueSchema>;

/** POST /openai/v1/batches (Groq's fields, plus the governor's `mode` and `skip_invalid_lines`) */
export const batchCreateSchema = z.looseObject({
  input_file_id: text(FIELD_LIMITS.fileId),
  endpoint: text(FIELD_LIMITS.endpoint),
  completion_window: text(FIELD_LIMITS.completionWindow),
  metadata: z
    .record(text(FIELD_LIMITS.metadataKey), text(FIELD_LIMITS.metadataValue))
    .refine((value) => Object.keys(value).length <= FIELD_LIMITS.metadataPairs, {
      message: `at most ${FIELD_LIMITS.metadataPairs} key-value pairs`,
    })
    .nullish(),
  mode: text(FIELD_LIMITS.mode).nullish(),
  skip_invalid_lines: z.union([z.boolean(), text(8)]).nullish(),
});
export type BatchCreateBody = z.infer<typeof batchCreateSchema>;

/** A rotation duration: a positive number of ms or a text like "24h", at most a year. */
const duration = z
  .union([z.number(), text(FIELD_LIMITS.duration)])
  .optional()
  .transform((value, context) => {
    if (value === undefined) return undefined;
    const ms = typeof value === 'number' ? value : parseDurationMs(value);
    if (ms === null || !Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION_MS) {
      context.addIssue({
        code: 'custom',
        message: 'must be a duration like "24h" or a number of ms, at most a year',
      });
      return z.NEVER;
    }
    return ms;
  });

/** POST /admin/rotations */
export const rotationStartSchema = z.looseObject({
  key_name: text(FIELD_LIMITS.upstreamKeyName),
  version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  monitor_window: duration,
  check_interval: duration,
  canary_for: duration,
  canary_percent: z.number().optional(),
  error_rate_threshold: z.number().optional(),
  require_approval: z.boolean().optional(),
  await_deletion_confirmation: z.boolean().optional(),
});

/** POST /admin/rotations/{name}/{action} */
export const rotationActionSchema = z.looseObject({ reason: text(FIELD_LIMITS.reason).nullish() });

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string; param: string };

/** `schema` applied to `value`, its first problem named by the field's path. */
export function check<T>(schema: z.ZodType<T>, value: unknown): Checked<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0]!;
  const param = formatIssuePath(issue.path);
  return { ok: false, message: `${param || 'body'}: ${issue.message}`, param };
}
