/**
 * Speech to text and text to speech on the gateway, for the unchanged `groq-sdk`:
 *
 *   POST /openai/v1/audio/transcriptions   multipart: file, model, response_format?, language?, prompt?,
 *   POST /openai/v1/audio/translations     temperature?, timestamp_granularities[]?
 *   POST /openai/v1/audio/speech           JSON: model, input, voice, response_format?, speed?
 *
 * An upload over `gateway.maxAudioBytes` (Groq's 25 MB) is refused with 413 as it arrives, without
 * keeping it; a kept upload is stored sealed in the ledger and only its id enters the workflow, with its
 * duration read from the WAV header (or the byte-size bound) for the worst-case reservation.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { worstCaseAudioSeconds, speechCharacters } from '../../domain/modality-pricing';
import { decodeUtf8, textFault, type TextFault } from '../../domain/text-input';
import { wavSecondsBound } from '../../domain/wav';
import type { AudioParams } from '../../activities/modalities/types';
import { boundaryOf, MultipartError, parseMultipart, type FormPart } from '../../emulator/multipart';
import { periodOf } from '../../ledger';
import { sendRefusal } from './http';
import { readJsonBody, refuseBody } from './json-body';
import { answerModality, runModality, storeUpload } from './modality-run';
import type { GatewayDeps, RequestContext } from './deps';

/** Room for the multipart framing and the form fields around the file. */
const MULTIPART_OVERHEAD = 64 * 1024;
const FORMATS = new Set(['json', 'text', 'verbose_json']);
/** Longest `prompt` form field (Whisper reads only its first 224 tokens) and longest other text field. */
const MAX_PROMPT_CHARS = 4096;
const MAX_FIELD_CHARS = 256;
/** Longest upload file name, as for batch files. */
const MAX_FILENAME_CHARS = 255;

/**
 * The form under the gateway's text rule (domain/text-input.ts): every text field valid UTF-8, without
 * NUL or a lone surrogate, within its bound, and the file's name too; the first fault, or undefined.
 */
function formFault(parts: FormPart[]): TextFault | undefined {
  for (const part of parts) {
    if (part.filename !== undefined) {
      const fault = textFault(part.filename, `${part.name}.filename`, MAX_FILENAME_CHARS);
      if (fault) return fault;
      continue;
    }
    const value = decodeUtf8(part.data);
    if (value === undefined) return { path: part.name, message: `${part.name} must be valid UTF-8.` };
    const fault = textFault(value, part.name, part.name === 'prompt' ? MAX_PROMPT_CHARS : MAX_FIELD_CHARS);
    if (fault) return fault;
  }
  return undefined;
}

/** Reads the body up to `limit` bytes; past it, keeps counting (draining) without keeping anything. */
async function readUpload(
  request: IncomingMessage,
  limit: number,
): Promise<{ body: Buffer } | { tooLarge: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > limit ? { tooLarge: size } : { body: Buffer.concat(chunks) };
}

function text(parts: FormPart[], name: string): string | undefined {
  return parts.find((part) => part.name === name && part.filename === undefined)?.data.toString('utf8');
}

async function refuseTooLarge(
  deps: GatewayDeps,
  response: ServerResponse,
  context: RequestContext,
  bytes: number,
): Promise<void> {
  const limit = deps.config().gateway.maxAudioBytes;
  const message = `The audio file is ${bytes} bytes or more, more than the ${limit} bytes (25 MB) allowed.`;
  await deps.ledger.recordRefusal({
    requestId: context.requestId,
    period: periodOf(new Date(), deps.config().org.timezone),
    team: context.principal.team,
    reason: 'request_too_large',
    detail: message,
    at: new Date(),
  });
  sendRefusal(
    response,
    { code: 'request_too_large', message, param: 'file' },
    {
      ...context.headers,
      connection: 'close',
    },
  );
}

export async function handleAudioTranscription(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
  endpoint: 'audio.transcriptions' | 'audio.translations',
): Promise<void> {
  const config = deps.config();
  const invalid = (message: string, param?: string) =>
    sendRefusal(
      response,
      { code: 'invalid_request_error', message, ...(param ? { param } : {}) },
      context.headers,
    );
  const boundary = boundaryOf(request.headers['content-type']);
  if (!boundary) {
    request.resume();
    return invalid('Upload the audio as multipart/form-data.', 'file');
  }
  const read = await readUpload(request, config.gateway.maxAudioBytes + MULTIPART_OVERHEAD);
  if ('tooLarge' in read) return refuseTooLarge(deps, response, context, read.tooLarge);
  let parts: FormPart[];
  try {
    parts = parseMultipart(read.body, boundary);
  } catch (error) {
    if (error instanceof MultipartError) return invalid(error.message, 'file');
    throw error;
  }
  // before anything is stored or read from the ledger
  const fault = formFault(parts);
  if (fault) return invalid(fault.message, fault.path);
  const model = text(parts, 'model');
  if (!model) return invalid("'model' : property 'model' is missing", 'model');
  const file = parts.find((part) => part.name === 'file');
  if (!file) {
    return text(parts, 'url') !== undefined
      ? invalid('Audio by URL is not governed here: upload the file.', 'url')
      : invalid("'file' : property 'file' is missing", 'file');
  }
  if (file.data.length > config.gateway.maxAudioBytes) {
    return refuseTooLarge(deps, response, context, file.data.length);
  }
  const format = text(parts, 'response_format') ?? 'json';
  if (!FORMATS.has(format)) {
    return invalid("'response_format' : value must be one of json, text, verbose_json", 'response_format');
  }
  const params: AudioParams = { response_format: format as AudioParams['response_format'] };
  const language = text(parts, 'language');
  if (language !== undefined) params.language = language;
  const prompt = text(parts, 'prompt');
  if (prompt !== undefined) params.prompt = prompt;
  const temperature = text(parts, 'temperature');
  if (temperature !== undefined) {
    const value = Number(temperature);
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      return invalid("'temperature' : value must be a number from 0 to 1", 'temperature');
    }
    params.temperature = value;
  }
  const granularities = parts
    .filter((part) => part.name === 'timestamp_granularities[]' || part.name === 'timestamp_granularities')
    .map((part) => part.data.toString('utf8'));
  if (granularities.some((value) => value !== 'word' && value !== 'segment')) {
    return invalid("'timestamp_granularities' : values must be word or segment", 'timestamp_granularities');
  }
  if (granularities.length > 0) params.timestamp_granularities = granularities as Array<'word' | 'segment'>;

  const price = config.pricing.audio?.get(model) ?? { perHour: 0n, minimumSeconds: 0 };
  const worstSeconds = worstCaseAudioSeconds(price, {
    bytes: file.data.length,
    headerSeconds: wavSecondsBound(file.data),
  });
  const blobId = `upload_${randomUUID()}`;
  const filename = file.filename ?? 'audio';
  await storeUpload(deps, { id: blobId, team: context.principal.team, filename, data: file.data });
  const result = await runModality(deps, context, {
    requestId: context.requestId,
    gatewayKeyId: context.principal.keyId,
    model,
    request: { endpoint, blobId, filename, worstSeconds, params },
    uploadBytes: file.data.length,
    maxWaitMs: config.gateway.maxWaitMs,
  });
  return answerModality(deps, response, context, result);
}

export async function handleAudioSpeech(
  deps: GatewayDeps,
  request: IncomingMessage,
  response: ServerResponse,
  context: RequestContext,
): Promise<void> {
  const config = deps.config();
  const invalid = (message: string, param?: string) =>
    sendRefusal(
      response,
      { code: 'invalid_request_error', message, ...(param ? { param } : {}) },
      context.headers,
    );
  // bounded, valid UTF-8 and JSON, and the text rule of every JSON body at the gateway
  const read = await readJsonBody(request, config.gateway.maxBodyBytes);
  if (!read.ok) return refuseBody(response, read, context.headers);
  if (typeof read.value !== 'object' || read.value === null || Array.isArray(read.value))
    return invalid('We could not parse the JSON body of your request.');
  const body = read.value as Record<string, unknown>;
  const { model, input, voice, response_format: format, speed } = body;
  if (typeof model !== 'string' || model === '')
    return invalid("'model' : property 'model' is missing", 'model');
  if (typeof input !== 'string' || input === '')
    return invalid("'input' : property 'input' is missing", 'input');
  if (typeof voice !== 'string' || voice === '')
    return invalid("'voice' : property 'voice' is missing", 'voice');
  if (format !== undefined && typeof format !== 'string') {
    return invalid("'response_format' : value must be a string", 'response_format');
  }
  if (speed !== undefined && (typeof speed !== 'number' || !Number.isFinite(speed))) {
    return invalid("'speed' : value must be a number", 'speed');
  }
  const characters = speechCharacters(input);
  const result = await runModality(deps, context, {
    requestId: context.requestId,
    gatewayKeyId: context.principal.keyId,
    model,
    request: {
      endpoint: 'audio.speech',
      body: {
        model,
        input,
        voice,
        ...(format !== undefined ? { response_format: format } : {}),
        ...(speed !== undefined ? { speed } : {}),
      },
      characters,
    },
    maxWaitMs: config.gateway.maxWaitMs,
  });
  return answerModality(deps, response, context, result);
}
