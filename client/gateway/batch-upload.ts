/**
 * A batch file upload (`POST /openai/v1/files`) under the text rule: `purpose` is "batch", the file's
 * name has at most `FIELD_LIMITS.filename` characters and no NUL, and its content is valid UTF-8
 * without NUL (the ledger keeps it as text). The JSON inside each line is checked line by line when a
 * batch validates it (`domain/batch-lines.ts`).
 */
import { FIELD_LIMITS } from '../../domain/admin-requests';
import { decodeUtf8, textFault } from '../../domain/text-input';
import type { FormPart } from '../../emulator/multipart';

export type CheckedUpload =
  { ok: true; filename: string; content: string } | { ok: false; message: string; param: string };

export function checkUpload(parts: readonly FormPart[]): CheckedUpload {
  const purposePart = parts.find((part) => part.name === 'purpose');
  const purpose = purposePart ? decodeUtf8(purposePart.data) : undefined;
  if (purpose !== 'batch') return { ok: false, message: 'purpose must be "batch".', param: 'purpose' };
  const file = parts.find((part) => part.name === 'file');
  if (!file) return { ok: false, message: 'The request has no file.', param: 'file' };
  const filename = file.filename ?? 'batch.jsonl';
  const nameFault = textFault(filename, 'filename', FIELD_LIMITS.filename);
  if (nameFault) return { ok: false, message: nameFault.message, param: 'file' };
  const content = decodeUtf8(file.data);
  if (content === undefined) return { ok: false, message: 'The file is not valid UTF-8.', param: 'file' };
  const contentFault = textFault(content, 'the file');
  if (contentFault) return { ok: false, message: contentFault.message, param: 'file' };
  return { ok: true, filename, content };
}
