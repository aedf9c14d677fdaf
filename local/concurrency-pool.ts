/**
 * Lambda's concurrency accounting for the local stack: a number of executions that may run at
 * once. A synchronous invoke over the limit is throttled at once; an asynchronous one waits in the
 * function's queue, first come first served, until an execution is free.
 */
export class ConcurrencyPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  readonly limit: number;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit <= 0)
      throw new RangeError(`a concurrency limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Executions running now. */
  get inUse(): number {
    return this.running;
  }

  /** Invocations waiting for an execution. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes an execution if one is free. */
  tryAcquire(): boolean {
    if (this.running >= this.limit) return false;
    this.running++;
    return true;
  }

  /** Waits for a free execution and takes it. */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Frees an execution; the longest-waiting invocation, if any, takes it over. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
