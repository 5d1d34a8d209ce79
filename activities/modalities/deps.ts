/** What the modality activities are built from: the completion activities' dependencies and a sealer. */
import type { CompletionDeps } from '../completion';

/** Seals and opens binary bodies stored by reference (workers/codec/blob.ts implements it). */
export interface Sealer {
  seal(bytes: Uint8Array): Promise<Buffer>;
  open(sealed: Uint8Array): Promise<Buffer>;
}

export interface ModalityDeps extends CompletionDeps {
  blobs: Sealer;
}

/** For deployments (and tests) that do not encrypt payloads: blobs are stored as they are. */
export const PLAIN_SEALER: Sealer = {
  seal: async (bytes) => Buffer.from(bytes),
  open: async (sealed) => Buffer.from(sealed),
};
