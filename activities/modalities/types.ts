/**
 * Inputs and results of the activities of speech to text, text to speech and the Responses API. Uploads
 * and speech answers cross workflow history only as blob ids (the bytes stay in the ledger, sealed);
 * speech input text and Responses bodies cross it as request bodies do, encrypted by the payload codec.
 */
import type { ApiErrorBody } from '../../domain/api-errors';
import type { UsageUnit } from '../../domain/modality-pricing';
import type { AttemptRef } from '../completion/types';

export type ModalityEndpoint = 'audio.transcriptions' | 'audio.translations' | 'audio.speech' | 'responses';

export function unitOf(endpoint: ModalityEndpoint): UsageUnit {
  if (endpoint === 'audio.speech') return 'characters';
  return endpoint === 'responses' ? 'tokens' : 'audio_seconds';
}

export interface ModalityPolicyInput {
  requestId: string;
  gatewayKeyId: string;
  model: string;
  endpoint: ModalityEndpoint;
  /** speech to text: the upload's size */
  uploadBytes?: number;
  /** text to speech: the input's characters */
  characters?: number;
  /** responses: max_output_tokens */
  maxOutputTokens?: number;
}

export interface UnitsReserveInput {
  requestId: string;
  attempt: number;
  team: string;
  period: string;
  model: string;
  endpoint: 'audio.transcriptions' | 'audio.translations' | 'audio.speech';
  /** billed seconds of the worst case (speech to text) or characters (text to speech) */
  quantity: number;
}

export interface AudioParams {
  response_format: 'json' | 'text' | 'verbose_json';
  language?: string;
  prompt?: string;
  temperature?: number;
  timestamp_granularities?: Array<'word' | 'segment'>;
}

export type ModalityRequest =
  | {
      endpoint: 'audio.transcriptions' | 'audio.translations';
      /** the sealed upload in the ledger's audio_blobs */
      blobId: string;
      filename: string;
      /** the worst-case billed seconds (header duration, or the byte-size bound) */
      worstSeconds: number;
      params: AudioParams;
    }
  | {
      endpoint: 'audio.speech';
      body: { model: string; input: string; voice: string; response_format?: string; speed?: number };
      characters: number;
    }
  | {
      endpoint: 'responses';
      body: Record<string, unknown>;
      /** an estimate for the TPM admission: the gateway's prompt estimate (the workflow adds the allowance) */
      tokensEstimate: number;
    };

export interface ModalityCallInput extends AttemptRef {
  request: ModalityRequest;
}

/** What the caller gets: a JSON body, plain text, or binary audio stored by reference. */
export type ModalityAnswer =
  | { type: 'json'; body: Record<string, unknown> }
  | { type: 'text'; text: string }
  | { type: 'blob'; blobId: string; contentType: string };

export type ModalityCallResult =
  | { kind: 'not_admitted'; retryAfterMs: number | null }
  | {
      kind: 'success';
      answer: ModalityAnswer;
      costNanos: string;
      unit: UsageUnit;
      /** billed audio seconds, characters, or prompt + completion tokens */
      quantity: number;
      upstreamRequestId: string | null;
      keyVersion: number;
    }
  | {
      kind: 'upstream_error';
      status: number;
      body: ApiErrorBody;
      retryable: boolean;
      retryAfterMs?: number;
    }
  | { kind: 'unknown' };
