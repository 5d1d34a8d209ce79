/**
 * Everything a running emulator holds: configuration, clock, keys, limiter, billing, faults, request
 * log, files and batches, plus the settings that can change while it runs (latency, limits).
 */
import type { ServerResponse } from 'node:http';
import { AudioLimiter } from './audio-limits';
import { BatchRunner, type BatchLine, type LineResult } from './batches';
import { BillingLedger } from './billing';
import type { Clock } from './clock';
import { completionObject, planCompletion } from './completions';
import type { EmulatorConfig, ModelSpec } from './config';
import { GroqError, modelNotFound } from './errors';
import { FaultQueue } from './faults';
import { FileStore } from './files';
import type { Headers } from './http';
import { completionId, requestId } from './ids';
import { KeyRing } from './keys';
import { OrgLimiter } from './ratelimit';
import { RequestLog } from './requestlog';
import { validateChatRequest } from './validation';

export interface LatencySettings {
  /** ms before each chat completion answers */
  latencyMs: number;
  /** ms between streamed tokens */
  perTokenMs: number;
}

export class EmulatorState {
  readonly keys: KeyRing;
  readonly limiter: OrgLimiter;
  /** audio seconds per hour and day of speech-to-text models */
  readonly audioLimiter: AudioLimiter;
  readonly billing: BillingLedger;
  readonly faults = new FaultQueue();
  readonly requestLog = new RequestLog();
  readonly files: FileStore;
  readonly batches: BatchRunner;
  readonly models: Map<string, ModelSpec>;
  readonly latency: LatencySettings;
  /** requests held open by `timeout` faults */
  readonly hanging = new Set<ServerResponse>();

  constructor(
    readonly config: EmulatorConfig,
    readonly clock: Clock,
  ) {
    const now = (): number => clock.now();
    this.models = new Map(config.models.map((model) => [model.id, model]));
    this.keys = new KeyRing(now);
    for (const key of config.keys) this.keys.add(key.name, key.secret);
    this.limiter = new OrgLimiter(
      config.orgId,
      config.rateLimitAlgorithm,
      config.models.map((model) => [model.id, model.limits]),
      config.enforceRateLimits,
    );
    this.audioLimiter = new AudioLimiter(
      config.orgId,
      config.rateLimitAlgorithm,
      config.models.flatMap((model): [string, { ash: number; asd: number }][] =>
        model.audioLimits ? [[model.id, model.audioLimits]] : [],
      ),
      config.enforceRateLimits,
    );
    this.billing = new BillingLedger(config.orgId, config.models, config, now);
    this.files = new FileStore(now);
    this.latency = { latencyMs: config.latencyMs, perTokenMs: config.perTokenLatencyMs };
    this.batches = new BatchRunner({
      files: this.files,
      now,
      speed: () => config.batch,
      runLine: (line, batch) => this.runBatchLine(line, batch),
    });
  }

  now(): number {
    return this.clock.now();
  }

  /** An active configured model, or undefined. */
  model(id: string): ModelSpec | undefined {
    const model = this.models.get(id);
    return model?.active ? model : undefined;
  }

  /** x-ratelimit-* headers for a model (the default model when it is unknown or absent). */
  rateLimitHeaders(model?: string): Headers {
    const name = model !== undefined && this.models.has(model) ? model : this.config.defaultModel;
    return this.limiter.headers(name, this.now());
  }

  /** One batch line through the completion logic, billed at the batch price when it succeeds. */
  runBatchLine(line: BatchLine, batch: { id: string; keyName: string }): LineResult {
    const now = this.now();
    const reqId = requestId(now);
    try {
      const request = validateChatRequest(line.body);
      if (request.stream)
        throw new GroqError(
          400,
          "'stream' : streaming is not supported in batches",
          'invalid_request_error',
          undefined,
          'stream',
        );
      const model = this.model(request.model);
      if (!model) throw modelNotFound(request.model);
      const plan = planCompletion(request, model);
      const body = completionObject(
        plan,
        { completionId: completionId(), requestId: reqId },
        Math.floor(now / 1000),
      );
      this.billing.bill({
        requestId: reqId,
        keyName: batch.keyName,
        model: plan.model,
        promptTokens: plan.promptTokens,
        completionTokens: plan.completionTokens,
        cachedTokens: plan.cachedTokens,
        batch: true,
        stream: false,
        cut: false,
        batchId: batch.id,
        customId: line.customId,
      });
      return { statusCode: 200, requestId: reqId, body };
    } catch (error) {
      if (error instanceof GroqError)
        return { statusCode: error.status, requestId: reqId, body: error.body() };
      throw error;
    }
  }
}
