/**
 * Files (`/openai/v1/files`): uploads for batches (`purpose=batch`, `.jsonl`, up to 100 MB) and the
 * output / error files batches write (`purpose=batch_output`). Kept in memory.
 */
import { fileId } from './ids';

export const MAX_FILE_BYTES = 100 * 1024 * 1024;

export type FilePurpose = 'batch' | 'batch_output';

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
}

interface StoredFile {
  meta: FileObject;
  content: Buffer;
}

export class FileStore {
  private files = new Map<string, StoredFile>();

  constructor(private readonly now: () => number) {}

  create(filename: string, purpose: FilePurpose, content: Buffer): FileObject {
    const now = this.now();
    const meta: FileObject = {
      id: fileId(now),
      object: 'file',
      bytes: content.length,
      created_at: Math.floor(now / 1000),
      filename,
      purpose,
    };
    this.files.set(meta.id, { meta, content });
    return { ...meta };
  }

  info(id: string): FileObject | undefined {
    const stored = this.files.get(id);
    return stored ? { ...stored.meta } : undefined;
  }

  content(id: string): Buffer | undefined {
    return this.files.get(id)?.content;
  }

  /** Newest first. */
  list(): FileObject[] {
    return [...this.files.values()].map((stored) => ({ ...stored.meta })).reverse();
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  clear(): void {
    this.files = new Map();
  }
}
