import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { MAX_EVENT_BYTES, utf8Bytes } from "../protocol/limits.js";
import type { TraceEvent } from "../protocol/trace-event.js";
import { type EntryTarget, putEventsEntrySize, takeBatch, toPutEventsEntry } from "./producer-batching.js";
import { type DeliveryFailure, TraceDeliveryError } from "./producer-errors.js";

/** How much the queue holds (queued and in flight) before `offer` refuses an event. */
export interface BufferLimits {
  readonly maxEvents: number;
  /** Sum of the entries' sizes as EventBridge counts them. */
  readonly maxBytes: number;
}

export interface DeliveryOptions {
  readonly client: EventBridgeClient;
  readonly target: EntryTarget;
  /** Wait this long after the first queued event before sending, to fill batches. 0: next tick. */
  readonly lingerMs: number;
  /**
   * How long after it was queued an event may still be resent. A retryable failure after that is
   * final, for the event that failed and for every queued event past its budget (the service is
   * still failing: waiting for their turn would only stretch `close()`).
   */
  readonly retryBudgetMs: number;
  /** PutEvents calls per event, the first one included; Infinity leaves the limit to the budget. */
  readonly maxAttempts: number;
  /** Backoff before resend attempt n is random in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly buffer: BufferLimits;
  /** Called (outside the send loop) each time events finally fail, before flush() reports them. */
  readonly onDeliveryError?: ((error: TraceDeliveryError) => void) | undefined;
  /** Monotonic milliseconds. @default performance.now */
  readonly now?: () => number;
}

interface Outgoing {
  readonly id: number;
  readonly event: TraceEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
  readonly queuedAt: number;
  attempts: number;
}

interface Waiter {
  readonly ids: Set<number>;
  readonly resolve: () => void;
  readonly reject: (error: TraceDeliveryError) => void;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

/** `DeliveryFailure.code` of an event refused because the buffer was full (policy "drop"). */
export const BUFFER_FULL_CODE = "BufferFull";
/** `DeliveryFailure.code` of an event still unsent (or unconfirmed) when flush/close stopped waiting. */
export const UNDELIVERED_CODE = "Undelivered";

/** A largest event's entry: the whole 96 KiB event plus the longest event name. */
const MAX_EVENT_NAME_BYTES = 64;

/** Entry error codes EventBridge documents as retryable; every other code is final. */
const RETRYABLE_ENTRY_CODES = new Set(["InternalFailure", "ThrottlingException"]);

/** Whole-request errors worth another attempt (throttling, server faults, network trouble). */
const RETRYABLE_ERROR_NAMES = new Set([
  "ThrottlingException",
  "InternalException",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

interface SdkErrorShape {
  readonly name: string;
  readonly message: string;
  readonly code?: unknown;
  readonly $retryable?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

function asSdkError(error: unknown): SdkErrorShape {
  if (error instanceof Error) return error as SdkErrorShape;
  return { name: "Error", message: String(error) };
}

/** `ECONNREFUSED` for network errors, the exception name for service errors. */
export function errorCodeOf(error: unknown): string {
  const shape = asSdkError(error);
  return typeof shape.code === "string" && shape.code.length > 0 ? shape.code : shape.name;
}

export function isRetryableError(error: unknown): boolean {
  const shape = asSdkError(error);
  if (shape.$retryable !== undefined && shape.$retryable !== false) return true;
  if (RETRYABLE_ERROR_NAMES.has(shape.name)) return true;
  if (typeof shape.code === "string" && NETWORK_ERROR_CODES.has(shape.code)) return true;
  if (shape.$fault === "server") return true;
  const status = shape.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

/**
 * Sends accepted events with PutEvents in the background: one request at a time, each as full as
 * the limits allow. Entries that fail with a retryable code, and requests that fail as a whole
 * with throttling, a server fault or a network error, go back to the front of the queue and are
 * resent after a full-jitter backoff, for as long as their retry budget (time since queued) and
 * `maxAttempts` allow. The queue holds at most `buffer` (events and bytes, queued or in flight).
 */
export class DeliveryQueue {
  readonly #options: DeliveryOptions;
  readonly #now: () => number;
  /** Bytes a largest event needs: `bufferFull` means there may be no room for one. */
  readonly #roomBytes: number;
  readonly #queue: Outgoing[] = [];
  /** Queued and in flight, by id. */
  readonly #unsettled = new Map<number, Outgoing>();
  #bufferedBytes = 0;
  readonly #failures: DeliveryFailure[] = [];
  #waiters: Waiter[] = [];
  #roomWaiters: (() => void)[] = [];
  #nextId = 0;
  #timer: { cancel(): void } | undefined;
  #draining: Promise<void> | undefined;
  /** The request being sent, and its events. */
  #inFlight: { readonly controller: AbortController; readonly items: ReadonlySet<Outgoing> } | undefined;
  #wake: (() => void) | undefined;
  /** Why the queue stopped sending for good (close() gave up waiting). */
  #abandoned: string | undefined;
  #lastError: unknown;

  constructor(options: DeliveryOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#roomBytes = MAX_EVENT_BYTES + utf8Bytes(options.target.source) + MAX_EVENT_NAME_BYTES;
  }

  /** Failures so far, in the order they happened. */
  get failures(): readonly DeliveryFailure[] {
    return this.#failures;
  }

  /** Events queued or in flight. */
  get pending(): number {
    return this.#unsettled.size;
  }

  /** Entry bytes queued or in flight. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** True while the buffer may have no room for another event (of the largest size). */
  get bufferFull(): boolean {
    return !this.#hasRoom(this.#roomBytes);
  }

  #hasRoom(size: number): boolean {
    const { maxEvents, maxBytes } = this.#options.buffer;
    return this.#unsettled.size < maxEvents && this.#bufferedBytes + size <= maxBytes;
  }

  /** Queues an event for sending; false (and nothing queued) when the buffer has no room for it. */
  offer(event: TraceEvent): boolean {
    const entry = toPutEventsEntry(event, this.#options.target);
    const size = putEventsEntrySize(entry);
    if (!this.#hasRoom(size)) return false;
    const item: Outgoing = { id: this.#nextId++, event, entry, size, queuedAt: this.#now(), attempts: 0 };
    this.#queue.push(item);
    this.#unsettled.set(item.id, item);
    this.#bufferedBytes += size;
    this.#schedule(this.#options.lingerMs);
    return true;
  }

  /** Records an event that will never be sent (refused for want of room) as a failure. */
  refuse(event: TraceEvent, code: string, message: string): void {
    this.#recordFailures([failureOf(event, 0, code, message)]);
  }

  /** Resolves as soon as the buffer has room for an event of any size (at once when it has). */
  waitForRoom(): Promise<void> {
    if (!this.bufferFull || this.#abandoned !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /**
   * Resolves when every event enqueued so far was delivered; rejects with `TraceDeliveryError`
   * listing every event that finally failed (this call's and earlier ones'). After `timeoutMs`, it
   * rejects with those failures plus the events it waited for that are still unsent (code
   * `Undelivered`); they stay queued and keep being retried.
   */
  flush(timeoutMs?: number): Promise<void> {
    if (this.#timer !== undefined) this.#schedule(0, true);
    if (this.#unsettled.size === 0) return this.#settledResult();
    return new Promise<void>((resolve, reject) => {
      const ids = new Set(this.#unsettled.keys());
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#waiters = this.#waiters.filter((waiter) => waiter !== entry);
              const waiting = [...ids].flatMap((id) => {
                const item = this.#unsettled.get(id);
                const message = `not accepted within flush()'s ${timeoutMs} ms; still being retried`;
                return item === undefined
                  ? []
                  : [failureOf(item.event, item.attempts, UNDELIVERED_CODE, message)];
              });
              reject(new TraceDeliveryError([...this.#failures, ...waiting], { cause: this.#lastError }));
            }, timeoutMs);
      const entry: Waiter = { ids, resolve, reject, timer };
      this.#waiters.push(entry);
    });
  }

  /**
   * Flushes; after `timeoutMs` stops for good: the request in flight is aborted and every event not
   * yet accepted becomes a failure (code `Undelivered`), then it rejects like `flush()`.
   */
  async close(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined) return this.flush();
    const outcome = await this.flush(timeoutMs).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (outcome === undefined) return;
    if (this.#unsettled.size > 0) this.#abandon(`close() gave up after ${timeoutMs} ms`);
    return this.#settledResult();
  }

  #abandon(reason: string): void {
    this.#abandoned = reason;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#queue.length = 0;
    const inFlight = this.#inFlight;
    const left = [...this.#unsettled.values()].map((item) =>
      failureOf(
        item.event,
        item.attempts,
        UNDELIVERED_CODE,
        inFlight?.items.has(item)
          ? `${reason} with its request in flight; EventBridge may have accepted it`
          : `${reason}; never accepted`,
      ),
    );
    inFlight?.controller.abort();
    this.#wake?.();
    this.#recordFailures(left);
    for (const item of [...this.#unsettled.values()]) this.#settle(item);
  }

  #settledResult(): Promise<void> {
    if (this.#failures.length === 0) return Promise.resolve();
    return Promise.reject(new TraceDeliveryError(this.#failures, { cause: this.#lastError }));
  }

  #schedule(delayMs: number, now = false): void {
    if (this.#draining !== undefined || this.#abandoned !== undefined) return;
    if (this.#timer !== undefined) {
      if (!now) return;
      this.#timer.cancel();
    }
    const start = () => {
      this.#timer = undefined;
      this.#draining = this.#drain().finally(() => {
        this.#draining = undefined;
        if (this.#queue.length > 0) this.#schedule(0);
      });
    };
    if (delayMs > 0) {
      const handle = setTimeout(start, delayMs);
      this.#timer = { cancel: () => clearTimeout(handle) };
    } else {
      const handle = setImmediate(start);
      this.#timer = { cancel: () => clearImmediate(handle) };
    }
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && this.#abandoned === undefined) {
      const batch = takeBatch(this.#queue);
      const retry = await this.#sendBatch(batch);
      if (retry.length === 0 || this.#abandoned !== undefined) continue;
      this.#queue.unshift(...retry);
      // Never sleep past a budget: the last resend happens when it runs out.
      const budgetLeft =
        Math.min(...retry.map((item) => item.queuedAt)) + this.#options.retryBudgetMs - this.#now();
      const backoff = this.#backoffMs(Math.max(...retry.map((item) => item.attempts)));
      await this.#pause(Math.max(0, Math.min(backoff, budgetLeft)));
    }
  }

  #backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * ceiling;
  }

  /** Sleeps, unless the queue is abandoned meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const handle = setTimeout(done, ms);
      function done() {
        clearTimeout(handle);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  #withinBudget(item: Outgoing): boolean {
    return this.#now() - item.queuedAt < this.#options.retryBudgetMs;
  }

  /** Sends one request; returns the items to resend. */
  async #sendBatch(batch: Outgoing[]): Promise<Outgoing[]> {
    for (const item of batch) item.attempts++;
    const retry: Outgoing[] = [];
    const done: Outgoing[] = [];
    const failed: DeliveryFailure[] = [];
    const fail = (item: Outgoing, code: string, message: string, retryable: boolean) => {
      if (retryable && item.attempts < this.#options.maxAttempts && this.#withinBudget(item)) {
        retry.push(item);
        return;
      }
      failed.push(failureOf(item.event, item.attempts, code, message));
      done.push(item);
    };
    const controller = new AbortController();
    this.#inFlight = { controller, items: new Set(batch) };
    try {
      const output = await this.#options.client.send(
        new PutEventsCommand({ Entries: batch.map((item) => item.entry) }),
        { abortSignal: controller.signal },
      );
      if (this.#abandoned !== undefined) return [];
      const results = output.Entries ?? [];
      const failedCount = output.FailedEntryCount ?? 0;
      batch.forEach((item, index) => {
        const result = results[index];
        if (result?.ErrorCode !== undefined) {
          const code = result.ErrorCode;
          fail(item, code, result.ErrorMessage ?? code, RETRYABLE_ENTRY_CODES.has(code));
        } else if (result === undefined && failedCount > 0) {
          // A response without per-entry results cannot say which entries failed: resend them.
          fail(item, "MissingResult", "PutEvents reported failures without per-entry results", true);
        } else {
          done.push(item);
        }
      });
    } catch (error) {
      if (this.#abandoned !== undefined) return [];
      this.#lastError = error;
      const retryable = isRetryableError(error);
      const code = errorCodeOf(error);
      const message = asSdkError(error).message;
      for (const item of batch) fail(item, code, message, retryable);
      if (retryable) {
        // The service is still failing: queued events whose budget ran out while they waited
        // their turn fail now, with this error, instead of one request after another.
        for (let index = this.#queue.length - 1; index >= 0; index--) {
          const item = this.#queue[index] as Outgoing;
          if (this.#withinBudget(item)) continue;
          this.#queue.splice(index, 1);
          failed.push(failureOf(item.event, item.attempts, code, message));
          done.push(item);
        }
      }
    } finally {
      this.#inFlight = undefined;
    }
    // Failures are recorded before anything settles, so a flush that resolves now sees them.
    this.#recordFailures(failed);
    for (const item of done) this.#settle(item);
    return retry;
  }

  #recordFailures(failed: readonly DeliveryFailure[]): void {
    if (failed.length === 0) return;
    this.#failures.push(...failed);
    const listener = this.#options.onDeliveryError;
    if (listener !== undefined) {
      const error = new TraceDeliveryError(failed, { cause: this.#lastError });
      // Outside the send loop: a listener that throws surfaces as its own uncaught error.
      queueMicrotask(() => listener(error));
    }
  }

  #settle(item: Outgoing): void {
    if (!this.#unsettled.delete(item.id)) return;
    this.#bufferedBytes -= item.size;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      waiter.ids.delete(item.id);
      if (waiter.ids.size > 0) {
        this.#waiters.push(waiter);
        continue;
      }
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      this.#settledResult().then(waiter.resolve, waiter.reject);
    }
    if (this.#roomWaiters.length > 0 && !this.bufferFull) {
      const roomWaiters = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const resolve of roomWaiters) resolve();
    }
  }
}

function failureOf(event: TraceEvent, attempts: number, code: string, message: string): DeliveryFailure {
  return {
    traceId: event.trace_id,
    seq: event.seq,
    eventId: event.event_id,
    code,
    message,
    attempts,
  };
}
