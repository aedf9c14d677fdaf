import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import type { TraceEvent } from "../protocol/trace-event.js";
import { type EntryTarget, putEventsEntrySize, takeBatch, toPutEventsEntry } from "./producer-batching.js";
import { type DeliveryFailure, TraceDeliveryError } from "./producer-errors.js";

export interface DeliveryOptions {
  readonly client: EventBridgeClient;
  readonly target: EntryTarget;
  /** Wait this long after the first queued event before sending, to fill batches. 0: next tick. */
  readonly lingerMs: number;
  /** PutEvents calls per event, the first one included, before it counts as failed. */
  readonly maxAttempts: number;
  /** Backoff before resend attempt n is random in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Called (outside the send loop) each time events finally fail, before flush() reports them. */
  readonly onDeliveryError?: ((error: TraceDeliveryError) => void) | undefined;
}

interface Outgoing {
  readonly id: number;
  readonly event: TraceEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
  attempts: number;
}

interface Waiter {
  readonly ids: Set<number>;
  readonly resolve: () => void;
  readonly reject: (error: TraceDeliveryError) => void;
}

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
 * the limits allow; entries that fail with a retryable code go back to the front of the queue and
 * are resent after a full-jitter backoff, until `maxAttempts`.
 */
export class DeliveryQueue {
  readonly #options: DeliveryOptions;
  readonly #queue: Outgoing[] = [];
  readonly #unsettled = new Set<number>();
  readonly #failures: DeliveryFailure[] = [];
  #waiters: Waiter[] = [];
  #nextId = 0;
  #timer: { cancel(): void } | undefined;
  #draining: Promise<void> | undefined;
  #lastError: unknown;

  constructor(options: DeliveryOptions) {
    this.#options = options;
  }

  /** Failures so far, in the order they happened. */
  get failures(): readonly DeliveryFailure[] {
    return this.#failures;
  }

  /** Events queued or in flight. */
  get pending(): number {
    return this.#unsettled.size;
  }

  enqueue(event: TraceEvent): void {
    const entry = toPutEventsEntry(event, this.#options.target);
    const id = this.#nextId++;
    this.#queue.push({ id, event, entry, size: putEventsEntrySize(entry), attempts: 0 });
    this.#unsettled.add(id);
    this.#schedule(this.#options.lingerMs);
  }

  /**
   * Resolves when every event enqueued so far was delivered; rejects with `TraceDeliveryError`
   * listing every event that finally failed (this call's and earlier ones').
   */
  flush(): Promise<void> {
    if (this.#timer !== undefined) this.#schedule(0, true);
    if (this.#unsettled.size === 0) return this.#settledResult();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ ids: new Set(this.#unsettled), resolve, reject });
    });
  }

  #settledResult(): Promise<void> {
    if (this.#failures.length === 0) return Promise.resolve();
    return Promise.reject(new TraceDeliveryError(this.#failures, { cause: this.#lastError }));
  }

  #schedule(delayMs: number, now = false): void {
    if (this.#draining !== undefined) return;
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
    while (this.#queue.length > 0) {
      const batch = takeBatch(this.#queue);
      const retry = await this.#sendBatch(batch);
      if (retry.length === 0) continue;
      this.#queue.unshift(...retry);
      await sleep(this.#backoffMs(Math.max(...retry.map((item) => item.attempts))));
    }
  }

  #backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#options.maxDelayMs, this.#options.baseDelayMs * 2 ** (attempt - 1));
    return Math.random() * ceiling;
  }

  /** Sends one request; returns the items to resend. */
  async #sendBatch(batch: Outgoing[]): Promise<Outgoing[]> {
    for (const item of batch) item.attempts++;
    const retry: Outgoing[] = [];
    const done: Outgoing[] = [];
    const failed: DeliveryFailure[] = [];
    const fail = (item: Outgoing, code: string, message: string, retryable: boolean) => {
      if (retryable && item.attempts < this.#options.maxAttempts) {
        retry.push(item);
        return;
      }
      failed.push(failureOf(item, code, message));
      done.push(item);
    };
    try {
      const output = await this.#options.client.send(
        new PutEventsCommand({ Entries: batch.map((item) => item.entry) }),
      );
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
      this.#lastError = error;
      const retryable = isRetryableError(error);
      const message = asSdkError(error).message;
      for (const item of batch) fail(item, errorCodeOf(error), message, retryable);
    }
    // Failures are recorded before anything settles, so a flush that resolves now sees them.
    this.#failures.push(...failed);
    for (const item of done) this.#settle(item);
    const listener = this.#options.onDeliveryError;
    if (failed.length > 0 && listener !== undefined) {
      const error = new TraceDeliveryError(failed, { cause: this.#lastError });
      // Outside the send loop: a listener that throws surfaces as its own uncaught error.
      queueMicrotask(() => listener(error));
    }
    return retry;
  }

  #settle(item: Outgoing): void {
    this.#unsettled.delete(item.id);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      waiter.ids.delete(item.id);
      if (waiter.ids.size > 0) {
        this.#waiters.push(waiter);
        continue;
      }
      this.#settledResult().then(waiter.resolve, waiter.reject);
    }
  }
}

function failureOf(item: Outgoing, code: string, message: string): DeliveryFailure {
  return {
    traceId: item.event.trace_id,
    seq: item.event.seq,
    eventId: item.event.event_id,
    code,
    message,
    attempts: item.attempts,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
