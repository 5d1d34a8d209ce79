/**
 * Sealing large binary bodies (speech-to-text uploads, speech answers) that travel by reference through
 * the ledger instead of through workflow history: the bytes become a payload, run through the same payload
 * codecs as every workflow payload (AES-256-GCM when the deployment encrypts, nothing otherwise), and are
 * stored as the serialized payload. Opening reverses it with the keys the codec knows.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
// a CommonJS package: Node's ESM loader only offers its default export
import proto from '@temporalio/proto';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const BINARY = new TextEncoder().encode('binary/plain');

export interface BlobSealer {
  seal(bytes: Uint8Array): Promise<Buffer>;
  open(sealed: Uint8Array): Promise<Buffer>;
}

/**
 * Without codecs (payloads not encrypted) the bytes are stored as they are, the same as the activities'
 * default sealer, so a gateway and a worker agree whether or not they were given the codecs.
 */
export function blobSealer(codecs: readonly PayloadCodec[]): BlobSealer {
  if (codecs.length === 0) {
    return { seal: async (bytes) => Buffer.from(bytes), open: async (sealed) => Buffer.from(sealed) };
  }
  return {
    async seal(bytes) {
      let payloads: Payload[] = [{ metadata: { encoding: BINARY }, data: bytes }];
      for (const codec of codecs) payloads = await codec.encode(payloads);
      return Buffer.from(ProtoPayload.encode(payloads[0]!).finish());
    },
    async open(sealed) {
      let payloads: Payload[] = [ProtoPayload.decode(sealed) as Payload];
      for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
      return Buffer.from(payloads[0]?.data ?? new Uint8Array());
    },
  };
}
