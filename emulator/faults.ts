/**
 * Injected faults, consumed in the order they were added. Each applies to the next `count` chat
 * completion, Responses, speech-to-text or text-to-speech requests that match its scope (model and/or key name) and reach the fault check (after
 * authentication and request validation, before rate limiting):
 *
 * - `status`: answer with an error status (e.g. 500/502/503, or 429 with `retryAfter`); never billed.
 * - `timeout`: never answer; the request hangs until the client gives up. Never billed.
 * - `cut_stream`: for streaming requests only: the server sends `afterChunks` SSE chunks, then closes the
 *   connection. Billed for the completion tokens those chunks carried.
 */
import { z } from 'zod';

const scope = {
  /** only requests for this model */
  model: z.string().min(1).optional(),
  /** only requests made with this key name */
  key: z.string().min(1).optional(),
  /** how many matching requests it applies to */
  count: z.number().int().positive().default(1),
};

export const faultSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('status'),
    status: z.number().int().min(400).max(599),
    /** seconds, sent as the retry-after header */
    retryAfter: z.number().nonnegative().optional(),
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.string().optional(),
    ...scope,
  }),
  z.strictObject({ kind: z.literal('timeout'), ...scope }),
  z.strictObject({ kind: z.literal('cut_stream'), afterChunks: z.number().int().nonnegative(), ...scope }),
]);

export type FaultSpec = z.input<typeof faultSpecSchema>;
export type ResolvedFault = z.output<typeof faultSpecSchema>;

export interface ActiveFault {
  id: string;
  spec: ResolvedFault;
  remaining: number;
}

export class FaultQueue {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): ActiveFault {
    const parsed = faultSpecSchema.parse(spec);
    const fault: ActiveFault = { id: `fault_${this.nextId++}`, spec: parsed, remaining: parsed.count };
    this.faults.push(fault);
    return fault;
  }

  /** Take the first fault matching this request (decrementing it), if any. */
  take(request: { model: string; keyName: string; stream: boolean }): ResolvedFault | undefined {
    if (this.faults.length === 0) return undefined;
    const index = this.faults.findIndex(
      ({ spec }) =>
        (spec.model === undefined || spec.model === request.model) &&
        (spec.key === undefined || spec.key === request.keyName) &&
        (spec.kind !== 'cut_stream' || request.stream),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault.spec;
  }

  list(): ActiveFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }
}
