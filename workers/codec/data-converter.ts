/**
 * The data converter every Groq Governor worker and client uses: the default payload conversion followed
 * by AES-256-GCM encryption, and a failure converter that moves failure messages and stack traces into
 * an (encrypted) payload. A worker and a client must agree on the keys, so both build it here.
 */
import { fileURLToPath } from 'node:url';
import type { PayloadCodec } from '@temporalio/common';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { loadCodecKeys, type CodecKeyring } from './keys';

/**
 * `failure-converter.cjs`: failure messages go into `encodedAttributes`. Workers, clients and workflow
 * bundles (`bundleWorkflowCode({ failureConverterPath })`) all load it by this path.
 */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/** The shape `Worker.create({ dataConverter })` and `new Client({ dataConverter })` take. */
export interface GovernorDataConverter {
  payloadCodecs: PayloadCodec[];
  failureConverterPath: string;
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
    failureConverterPath,
  };
}

/**
 * Resolves the keys (environment, else `<dataDir>/codec.key`, created on first start) and returns the
 * data converter. Throws `CodecKeyError` with a readable message on a bad key or an unsafe key file.
 */
export async function dataConverterFor(options: DataConverterOptions): Promise<GovernorDataConverter> {
  return dataConverterFromKeys(await loadCodecKeys(options));
}
