/**
 * First come, first served exclusive ownership of the ledger host's one PGlite session (./server.ts).
 * `acquire` returns nothing when the caller may go on at once (it owns the gate already, or nobody
 * did), so the common uncontended case costs no promise; otherwise a promise that resolves once every
 * earlier waiter has had its turn.
 */
export class Gate {
  #owner: object | null = null;
  #waiting: Array<{ who: object; grant: () => void }> = [];

  owns(who: object): boolean {
    return this.#owner === who;
  }

  acquire(who: object): Promise<void> | undefined {
    if (this.#owner === who) return undefined;
    if (this.#owner === null) {
      this.#owner = who;
      return undefined;
    }
    return new Promise<void>((grant) => this.#waiting.push({ who, grant }));
  }

  release(who: object): void {
    if (this.#owner !== who) return;
    const next = this.#waiting.shift();
    this.#owner = next?.who ?? null;
    next?.grant();
  }
}
