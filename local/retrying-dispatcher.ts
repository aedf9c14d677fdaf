import { describeError, type LocalLogger } from "./log.js";

/** A retry policy as EventBridge targets and Lambda's asynchronous invocation both express it. */
export interface RetryPolicy {
  /** Retries after the first attempt (MaximumRetryAttempts). */
  readonly retryAttempts: number;
  /** An item older than this is not retried again (MaximumEventAgeInSeconds). */
  readonly maxEventAgeSeconds: number;
  /** Delay before the first retry; it doubles each retry (with jitter) up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export type ExhaustedCondition = "MaximumRetryAttempts" | "MaximumEventAgeInSeconds";

export interface Exhausted<T> {
  readonly item: T;
  readonly error: unknown;
  readonly condition: ExhaustedCondition;
  /** Retries made after the first attempt. */
  readonly retries: number;
}

export interface RetryingDispatcherOptions<T> {
  /** Resolves when the item is handled; rejects to ask for a retry. */
  readonly attempt: (item: T) => Promise<void>;
  readonly retry: RetryPolicy;
  /** Epoch milliseconds; item age is measured on this clock. */
  readonly now: () => number;
  /** Called once the policy gives up on an item. */
  readonly exhausted: (outcome: Exhausted<T>) => void | Promise<void>;
  readonly describe: (item: T) => string;
  readonly log: LocalLogger;
  readonly random?: (() => number) | undefined;
}

interface Pending<T> {
  readonly item: T;
  readonly firstAttemptAt: number;
  retries: number;
}

/**
 * Runs each submitted item asynchronously and concurrently, retrying failures with exponential
 * backoff and equal jitter until the retry policy gives up. Knows when it is idle, and stops
 * cleanly: pending retries are dropped, attempts in flight finish.
 */
export class RetryingDispatcher<T> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  private readonly options: RetryingDispatcherOptions<T>;
  constructor(options: RetryingDispatcherOptions<T>) {
    this.options = options;
  }

  submit(item: T): void {
    this.schedule({ item, firstAttemptAt: this.options.now(), retries: 0 }, 0);
  }

  isIdle(): boolean {
    return this.timers.size === 0 && this.inFlight.size === 0;
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops; resolves with the number of retries dropped once attempts in flight have finished. */
  async close(): Promise<number> {
    if (this.closed) return 0;
    this.closed = true;
    const dropped = this.timers.size;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
    this.notifyIdle();
    return dropped;
  }

  private schedule(pending: Pending<T>, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const attempt = this.run(pending);
      this.inFlight.add(attempt);
      void attempt.finally(() => {
        this.inFlight.delete(attempt);
        this.notifyIdle();
      });
    }, delayMs);
    this.timers.add(timer);
  }

  private async run(pending: Pending<T>): Promise<void> {
    const { log, describe } = this.options;
    try {
      await this.options.attempt(pending.item);
      if (pending.retries > 0)
        log.debug(`${describe(pending.item)} succeeded after ${pending.retries} retries`);
    } catch (error) {
      if (this.closed) return;
      const { retry } = this.options;
      const ageSeconds = (this.options.now() - pending.firstAttemptAt) / 1000;
      const condition: ExhaustedCondition | undefined =
        pending.retries >= retry.retryAttempts
          ? "MaximumRetryAttempts"
          : ageSeconds >= retry.maxEventAgeSeconds
            ? "MaximumEventAgeInSeconds"
            : undefined;
      if (condition) {
        // Awaited, so idle() also waits for the give-up path (e.g. an on-failure destination).
        await this.options.exhausted({ item: pending.item, error, condition, retries: pending.retries });
        return;
      }
      pending.retries++;
      const delay = this.backoff(pending.retries);
      log.debug(
        `${describe(pending.item)} failed (${describeError(error)}); retry ${pending.retries} in ${delay} ms`,
      );
      this.schedule(pending, delay);
    }
  }

  /** Half the delay fixed, half random. */
  private backoff(retry: number): number {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
    const random = this.options.random ?? Math.random;
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
