/**
 * An in-process meeting point for the admission of a streamed request, where the gateway and the worker
 * share a process (the embedded stack) and the workflow starts eagerly on that worker: the authorize
 * step hands its decision to the gateway waiting in the same process, which then streams at once
 * instead of asking the workflow through an update (a round trip through the Temporal server and a
 * second workflow task). The decision is the workflow's own: the step's reservation and lease are in
 * the ledger and the workflow records the same step's result, so a replayed step decides the same.
 * Where nobody waits (another process, a request that is not streamed) an announcement is dropped; a
 * gateway that hears nothing in time asks the workflow as before.
 */
export class AdmissionBoard<T> {
  readonly #waiting = new Map<string, (value: T | undefined) => void>();

  /**
   * Wait for the admission of `requestId`: the announced value, or undefined when the step announced
   * none (it could not decide at once), after `timeoutMs`, or once cancelled.
   */
  expect(requestId: string, timeoutMs: number): { admission: Promise<T | undefined>; cancel(): void } {
    let settle: (value: T | undefined) => void = () => undefined;
    const admission = new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      settle = (value) => {
        clearTimeout(timer);
        if (this.#waiting.get(requestId) === settle) this.#waiting.delete(requestId);
        resolve(value);
      };
    });
    this.#waiting.set(requestId, settle);
    return { admission, cancel: () => settle(undefined) };
  }

  /** Hand the admission of `requestId` to its waiting gateway, if one waits in this process. */
  announce(requestId: string, value: T | undefined): void {
    this.#waiting.get(requestId)?.(value);
  }

  /** requests waiting now (for tests) */
  get waiting(): number {
    return this.#waiting.size;
  }
}
