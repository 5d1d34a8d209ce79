/** Payload encryption for Temporal: the codec, its keys and the data converter workers and clients share. */
export { blobSealer, type BlobSealer } from './blob';
export {
  AesGcmPayloadCodec,
  CIPHER,
  ENCODING_ENCRYPTED,
  METADATA_CIPHER,
  METADATA_ENCODING,
  METADATA_KEY_ID,
  PayloadDecryptionError,
  isEncryptedPayload,
  type AesGcmCodecOptions,
} from './aes-gcm-codec';
export {
  dataConverterFor,
  dataConverterFromKeys,
  failureConverterPath,
  type DataConverterOptions,
  type GovernorDataConverter,
} from './data-converter';
export {
  CodecKeyError,
  KEY_BYTES,
  KEY_FILE_NAME,
  codecKey,
  deriveKeyId,
  describeCodecKeys,
  generateCodecKey,
  isValidKeyId,
  loadCodecKeys,
  loadKeyFile,
  parseKeyMaterial,
  parseOldKeys,
  type CodecKey,
  type CodecKeyring,
  type CodecKeySource,
} from './keys';
