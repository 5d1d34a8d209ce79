/**
 * Groq's audio endpoints:
 *
 *   POST /openai/v1/audio/transcriptions   multipart: file, model, response_format? (json | text | verbose_json),
 *   POST /openai/v1/audio/translations     language?, prompt?, temperature?  -> the transcript
 *   POST /openai/v1/audio/speech           JSON: model, input, voice, response_format? (wav) -> a WAV body
 *
 * Speech to text reads the upload's duration from its WAV header (other formats get Groq's 400 for a
 * file it cannot decode), answers a deterministic transcript (words from a hash of the bytes, about two
 * a second) and bills the seconds with the model's minimum. Text to speech bills the input's characters
 * and answers a small valid WAV of silence. Both count requests against RPM/RPD; speech to text counts
 * its billed seconds against ASH/ASD, text to speech its characters against TPM/TPD.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { audioPriceOf, billedAudioSeconds, speechCharacters } from '../domain/modality-pricing';
import { silentWav, wavDurationSeconds } from '../domain/wav';
import { answerFault, type CallContext } from './chat';
import { GroqError, invalidRequest, modelNotFound } from './errors';
import { parseJson, readBody, sendError, sendJson, type Headers } from './http';
import { requestId } from './ids';
import { boundaryOf, MultipartError, parseMultipart, type FormPart } from './multipart';
import { replyWords } from './replies';
import type { EmulatorState } from './state';

/** Groq's cap for a direct upload. */
export const MAX_AUDIO_UPLOAD_BYTES = 25 * 1024 * 1024;
const RESPONSE_FORMATS = new Set(['json', 'text', 'verbose_json']);

function field(parts: FormPart[], name: string): string | undefined {
  return parts.find((part) => part.name === name && part.filename === undefined)?.data.toString('utf8');
}

/** The transcript of an upload: the same bytes always give the same words. */
export function transcriptOf(bytes: Buffer, durationSeconds: number): string {
  const seed = createHash('sha256').update(bytes).digest();
  return replyWords(seed, Math.max(1, Math.round(durationSeconds * 2)), true).join(' ');
}

function tooLarge(): GroqError {
  return new GroqError(
    413,
    `Request Entity Too Large: the file must be at most ${MAX_AUDIO_UPLOAD_BYTES} bytes (25 MB).`,
    'invalid_request_error',
    'request_too_large',
  );
}

export async function handleAudioTranscription(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: CallContext,
  task: 'transcribe' | 'translate',
): Promise<void> {
  let modelName: string | undefined;
  try {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) throw invalidRequest('request Content-Type must be multipart/form-data', 'file');
    let parts: FormPart[];
    try {
      parts = parseMultipart(await readBody(req, MAX_AUDIO_UPLOAD_BYTES + 64 * 1024), boundary);
    } catch (error) {
      if (error instanceof GroqError && error.status === 413) throw tooLarge();
      if (error instanceof MultipartError) throw invalidRequest(error.message, 'file');
      throw error;
    }
    modelName = field(parts, 'model');
    if (!modelName) throw invalidRequest("'model' : property 'model' is missing", 'model');
    const model = state.model(modelName);
    if (!model) throw modelNotFound(modelName);
    if (model.kind !== 'audio') {
      throw invalidRequest(`model \`${modelName}\` does not support audio transcription`, 'model');
    }
    const file = parts.find((part) => part.name === 'file');
    if (!file) throw invalidRequest("'file' : one of 'file' or 'url' must be provided", 'file');
    if (file.data.length > MAX_AUDIO_UPLOAD_BYTES) throw tooLarge();
    const format = field(parts, 'response_format') ?? 'json';
    if (!RESPONSE_FORMATS.has(format)) {
      throw invalidRequest(
        `'response_format' : value must be one of json, text, verbose_json`,
        'response_format',
      );
    }
    const duration = wavDurationSeconds(file.data);
    if (duration === null) {
      throw invalidRequest('could not process file - is it a valid media file?', 'file', 'invalid_file');
    }
    const billedSeconds = billedAudioSeconds(audioPriceOf(state.billing.priceBook, model.id), duration);
    const fault = state.faults.take({ model: model.id, keyName: ctx.keyName, stream: false });
    if (fault && fault.kind !== 'cut_stream') return answerFault(state, res, fault, model.id, ctx);

    const now = state.now();
    const limited =
      state.limiter.check(model.id, 0, now) ?? state.audioLimiter.check(model.id, billedSeconds, now);
    if (limited) throw limited;
    state.limiter.admit(model.id, 0, now);
    state.audioLimiter.admit(model.id, billedSeconds, now);
    const reqId = requestId(now);
    const headers: Headers = { ...state.limiter.headers(model.id, now), 'x-request-id': reqId };
    const text = transcriptOf(file.data, duration);
    state.billing.billUnits({
      requestId: reqId,
      keyName: ctx.keyName,
      model: model.id,
      endpoint: task === 'transcribe' ? 'audio.transcriptions' : 'audio.translations',
      durationSeconds: duration,
    });
    ctx.log.status(200);
    if (format === 'text') {
      res.writeHead(200, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
      return;
    }
    if (format === 'json') return sendJson(res, 200, { text, x_groq: { id: reqId } }, headers);
    const language = task === 'translate' ? 'english' : (field(parts, 'language') ?? 'english');
    sendJson(
      res,
      200,
      {
        task,
        language,
        duration,
        text,
        segments: [
          {
            id: 0,
            seek: 0,
            start: 0,
            end: duration,
            text,
            tokens: [],
            temperature: 0,
            avg_logprob: -0.2,
            compression_ratio: 1,
            no_speech_prob: 0.01,
          },
        ],
        x_groq: { id: reqId },
      },
      headers,
    );
  } catch (error) {
    if (!(error instanceof GroqError)) throw error;
    req.resume();
    const now = state.now();
    sendError(res, error, { ...state.rateLimitHeaders(modelName), 'x-request-id': requestId(now) });
    ctx.log.status(error.status);
  }
}

/** Seconds of audio the emulator answers for `characters` of input (about 15 a second, at most a minute). */
function speechSeconds(characters: number): number {
  return Math.min(60, Math.max(0.1, characters / 15));
}

export async function handleAudioSpeech(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: CallContext,
): Promise<void> {
  let modelName: string | undefined;
  try {
    const body = parseJson(await readBody(req, state.config.maxBodyBytes));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidRequest('The request body must be a JSON object.');
    }
    const request = body as Record<string, unknown>;
    if (typeof request.model !== 'string')
      throw invalidRequest("'model' : property 'model' is missing", 'model');
    modelName = request.model;
    const model = state.model(request.model);
    if (!model) throw modelNotFound(request.model);
    if (model.kind !== 'speech')
      throw invalidRequest(`model \`${request.model}\` does not support speech`, 'model');
    if (typeof request.input !== 'string' || request.input === '') {
      throw invalidRequest("'input' : property 'input' is missing", 'input');
    }
    if (typeof request.voice !== 'string' || request.voice === '') {
      throw invalidRequest("'voice' : property 'voice' is missing", 'voice');
    }
    const format = request.response_format ?? 'wav';
    if (format !== 'wav') throw invalidRequest("'response_format' : value must be 'wav'", 'response_format');
    const characters = speechCharacters(request.input);
    const fault = state.faults.take({ model: model.id, keyName: ctx.keyName, stream: false });
    if (fault && fault.kind !== 'cut_stream') return answerFault(state, res, fault, model.id, ctx);

    const now = state.now();
    const limited = state.limiter.check(model.id, characters, now);
    if (limited) throw limited;
    state.limiter.admit(model.id, characters, now);
    const reqId = requestId(now);
    state.billing.billUnits({
      requestId: reqId,
      keyName: ctx.keyName,
      model: model.id,
      endpoint: 'audio.speech',
      characters,
    });
    const audio = silentWav(speechSeconds(characters), 1000);
    res.writeHead(200, {
      ...state.limiter.headers(model.id, now),
      'x-request-id': reqId,
      'content-type': 'audio/wav',
      'content-length': audio.length,
    });
    res.end(audio);
    ctx.log.status(200);
  } catch (error) {
    if (!(error instanceof GroqError)) throw error;
    req.resume();
    sendError(res, error, { ...state.rateLimitHeaders(modelName), 'x-request-id': requestId(state.now()) });
    ctx.log.status(error.status);
  }
}
