/**
 * The data converter every Groq Governor worker and client uses: the default payload conversion followed
 * by AES-256-GCM encryption. A worker and a client must agree on the keys, so both build it here.
 */
import type { PayloadCodec } from '@temporalio/common';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { loadCodecKeys, type CodecKeyring } from './keys';

/** The shape `Worker.create({ dataConverter })` and `new Client({ dataConverter })` take. */
export interface GovernorDataConverter {
  payloadCodecs: PayloadCodec[];
}

export interface DataConverterOptions {
  /** the data folder; holds `codec.key` when `GOVERNOR_CODEC_KEY` is not set */
  dataDir: string;
  /** defaults to process.env */
  env?: NodeJS.ProcessEnv;
}

/** A data converter from an already resolved keyring (tests, tools). */
export function dataConverterFromKeys(
  keyring: Pick<CodecKeyring, 'current' | 'decodeKeys'>,
): GovernorDataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec({ current: keyring.current, decodeKeys: keyring.decodeKeys })],
  };
}

/**
 * Resolves the keys (environment, else `<dataDir>/codec.key`, created on first start) and returns the
 * data converter. Throws `CodecKeyError` with a readable message on a bad key or an unsafe key file.
 */
export async function dataConverterFor(options: DataConverterOptions): Promise<GovernorDataConverter> {
  return dataConverterFromKeys(await loadCodecKeys(options));
}
