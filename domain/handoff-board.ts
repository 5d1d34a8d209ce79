/**
 * An in-process meeting point between a gateway and a worker in the same process (the embedded stack),
 * for workflows started eagerly on that worker: a step of the workflow hands what the gateway waits for
 * (a streamed request's admission, a completion's answer) straight to the gateway waiting in the same
 * process, instead of the gateway asking the workflow through the Temporal server (an update, or the
 * result's long poll after the workflow task completes). What is handed over is the workflow's own: the
 * step's effects are in the ledger and the workflow records the same step's result, so a replayed step
 * decides the same. Where nobody waits (another process, nothing asked) an announcement is dropped; a
 * gateway that hears nothing in time asks the workflow as before.
 */
export class HandoffBoard<T, Detail = never> {
  readonly #waiting = new Map<string, { settle: (value: T | undefined) => void; detail?: Detail }>();
  #delivered = 0;

  /**
   * Wait for what `requestId`'s step announces: the value, or undefined when the step announced none,
   * after `timeoutMs`, or once cancelled. `detail` is what the step may learn of the waiting gateway
   * before it decides (`detailOf`).
   */
  expect(
    requestId: string,
    timeoutMs: number,
    detail?: Detail,
  ): { value: Promise<T | undefined>; cancel(): void } {
    let settle: (value: T | undefined) => void = () => undefined;
    const value = new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      settle = (given) => {
        clearTimeout(timer);
        if (this.#waiting.get(requestId)?.settle === settle) this.#waiting.delete(requestId);
        resolve(given);
      };
    });
    this.#waiting.set(requestId, detail === undefined ? { settle } : { settle, detail });
    return { value, cancel: () => settle(undefined) };
  }

  /** What the gateway waiting for `requestId` in this process told of itself; undefined if none waits. */
  detailOf(requestId: string): Detail | undefined {
    return this.#waiting.get(requestId)?.detail;
  }

  /** Hand `value` to the gateway waiting for `requestId`, if one waits in this process. */
  announce(requestId: string, value: T | undefined): void {
    const waiting = this.#waiting.get(requestId);
    if (!waiting) return;
    if (value !== undefined) this.#delivered++;
    waiting.settle(value);
  }

  /** requests waiting now (for tests) */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** values handed to a waiting gateway so far (for tests and the benchmark) */
  get delivered(): number {
    return this.#delivered;
  }
}
