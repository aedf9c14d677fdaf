import { EventBridgeClient, type EventBridgeClientConfig } from "@aws-sdk/client-eventbridge";
import { DEFAULT_EVENT_SOURCE } from "../lib/event-rule.js";
import { MAX_EVENT_BYTES } from "../protocol/limits.js";
import type { TraceEvent } from "../protocol/trace-event.js";
import { acceptTraceEvent } from "../protocol/validate.js";
import { BUFFER_FULL_CODE, DeliveryQueue } from "./producer-delivery.js";
import { type DeliveryFailure, type TraceDeliveryError, TraceStateError } from "./producer-errors.js";

/** What `publish`/`emit` does when the buffer has no room: see `PublisherOptions.whenBufferFull`. */
export type BufferFullPolicy = "throw" | "drop";

/** How long `flush`/`close` wait. */
export interface WaitOptions {
  /**
   * `flush`: reject after this long, listing what is still unsent (it stays queued).
   * `close`: stop after this long; what is still unsent is given up and listed. @default no limit
   */
  readonly timeoutMs?: number;
}

/** How events reach EventBridge, and how hard to try. */
export interface PublisherOptions {
  /** A client to send with (it stays open after `close()`). Default: one built from the options below. */
  readonly client?: EventBridgeClient | undefined;
  /** EventBridge endpoint, e.g. `http://127.0.0.1:4010` for the local stack. Default: AWS. */
  readonly endpoint?: string | undefined;
  /** Default: the SDK's region chain (AWS_REGION, profile); `us-east-1` for a loopback endpoint. */
  readonly region?: string | undefined;
  /** Default: the SDK's credential chain; fixed dummy credentials for a loopback endpoint. */
  readonly credentials?: EventBridgeClientConfig["credentials"] | undefined;
  /** @default "trace-stream" */
  readonly busName?: string | undefined;
  /** The `Source` the emitter's rule matches. @default "trace-stream" */
  readonly source?: string | undefined;
  /** Wait this long after an idle queue receives an event before sending. @default 0 (next tick) */
  readonly lingerMs?: number | undefined;
  /**
   * How long after `emit` an event may keep being resent after retryable failures (throttling,
   * server faults, EventBridge unreachable). Past it, the next failure is final and the event is
   * reported by `flush()`/`close()`. @default 300 000 (5 minutes)
   */
  readonly retryBudgetMs?: number | undefined;
  /** Also stop after this many PutEvents attempts per event, the first included. @default Infinity */
  readonly maxAttempts?: number | undefined;
  /** Full-jitter backoff base and cap between resends. @default 100, 5000 */
  readonly baseDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
  /** Events held (queued or in flight) before the buffer is full. @default 10 000 */
  readonly maxBufferedEvents?: number | undefined;
  /** Bytes held (entry sizes as EventBridge counts them), at least 128 KiB. @default 16 MiB */
  readonly maxBufferedBytes?: number | undefined;
  /**
   * When the buffer is full, "throw": `emit` throws `TraceStateError` code `buffer_full` and uses
   * no seq (wait with `waitForRoom()`, or watch `bufferFull`); "drop": the event takes its seq but
   * is not sent, and is reported like any undelivered event (code `BufferFull`). @default "throw"
   */
  readonly whenBufferFull?: BufferFullPolicy | undefined;
  /**
   * Timeouts of the client built from these options: connecting, and waiting for a response.
   * @default 5 000, 10 000
   */
  readonly connectionTimeoutMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
  /** Told about every final delivery failure as it happens (flush()/close() report them too). */
  readonly onDeliveryError?: ((error: TraceDeliveryError) => void) | undefined;
}

export const DEFAULT_BUS_NAME = DEFAULT_EVENT_SOURCE;
export const DEFAULT_RETRY_BUDGET_MS = 5 * 60 * 1000;
export const DEFAULT_BASE_DELAY_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 5000;
export const DEFAULT_MAX_BUFFERED_EVENTS = 10_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** The buffer must hold at least one largest event. */
export const MIN_BUFFERED_BYTES = MAX_EVENT_BYTES + 32 * 1024;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function isLoopback(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    return LOOPBACK_HOSTS.has(new URL(endpoint).hostname);
  } catch {
    throw new RangeError(`endpoint must be a URL, got ${JSON.stringify(endpoint)}`);
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isFinite(result) || result < 0) throw new RangeError(`${name} must be a number >= 0`);
  return result;
}

function atLeast(name: string, value: number | undefined, fallback: number, minimum: number): number {
  const result = value ?? fallback;
  if (!(Number.isInteger(result) || result === Number.POSITIVE_INFINITY) || result < minimum)
    throw new RangeError(`${name} must be an integer >= ${minimum}`);
  return result;
}

/**
 * Publishes complete TraceEvents (seq chosen by the caller): validates and redacts each one before
 * it leaves the process, then sends in the background. `createTrace` builds on it; use it directly
 * to forward or replay events whose seq is already assigned.
 */
export class TraceEventPublisher {
  readonly #queue: DeliveryQueue;
  readonly #ownedClient: EventBridgeClient | undefined;
  readonly #whenBufferFull: BufferFullPolicy;
  #closing: Promise<void> | undefined;

  constructor(options: PublisherOptions = {}) {
    const maxAttempts = atLeast("maxAttempts", options.maxAttempts, Number.POSITIVE_INFINITY, 1);
    const maxEvents = atLeast("maxBufferedEvents", options.maxBufferedEvents, DEFAULT_MAX_BUFFERED_EVENTS, 1);
    const maxBytes = atLeast(
      "maxBufferedBytes",
      options.maxBufferedBytes,
      DEFAULT_MAX_BUFFERED_BYTES,
      MIN_BUFFERED_BYTES,
    );
    const whenBufferFull = options.whenBufferFull ?? "throw";
    if (whenBufferFull !== "throw" && whenBufferFull !== "drop")
      throw new RangeError(`whenBufferFull must be "throw" or "drop", got ${JSON.stringify(whenBufferFull)}`);
    this.#whenBufferFull = whenBufferFull;
    let client = options.client;
    if (client === undefined) {
      const local = isLoopback(options.endpoint);
      client = new EventBridgeClient({
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.region === undefined
          ? local
            ? { region: "us-east-1" }
            : {}
          : { region: options.region }),
        ...(options.credentials === undefined
          ? local
            ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } }
            : {}
          : { credentials: options.credentials }),
        // This queue owns retries (per entry, with its own limit); the SDK would multiply them.
        maxAttempts: 1,
        // Without them, a request to an endpoint that stopped answering waits forever.
        requestHandler: {
          connectionTimeout: nonNegative(
            "connectionTimeoutMs",
            options.connectionTimeoutMs,
            DEFAULT_CONNECTION_TIMEOUT_MS,
          ),
          requestTimeout: nonNegative(
            "requestTimeoutMs",
            options.requestTimeoutMs,
            DEFAULT_REQUEST_TIMEOUT_MS,
          ),
        },
      });
      this.#ownedClient = client;
    }
    this.#queue = new DeliveryQueue({
      client,
      target: {
        busName: options.busName ?? DEFAULT_BUS_NAME,
        source: options.source ?? DEFAULT_EVENT_SOURCE,
      },
      lingerMs: nonNegative("lingerMs", options.lingerMs, 0),
      retryBudgetMs: nonNegative("retryBudgetMs", options.retryBudgetMs, DEFAULT_RETRY_BUDGET_MS),
      maxAttempts,
      baseDelayMs: nonNegative("baseDelayMs", options.baseDelayMs, DEFAULT_BASE_DELAY_MS),
      maxDelayMs: nonNegative("maxDelayMs", options.maxDelayMs, DEFAULT_MAX_DELAY_MS),
      buffer: { maxEvents, maxBytes },
      onDeliveryError: options.onDeliveryError,
    });
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Events queued or in flight. */
  get pending(): number {
    return this.#queue.pending;
  }

  /** Entry bytes queued or in flight. */
  get bufferedBytes(): number {
    return this.#queue.bufferedBytes;
  }

  /**
   * True while the buffer may have no room for another event: `publish` would throw (policy
   * "throw") or drop it (policy "drop"). `waitForRoom()` resolves when it turns false.
   */
  get bufferFull(): boolean {
    return this.#queue.bufferFull;
  }

  /** Resolves once the buffer has room for an event of any size (at once when it has). */
  waitForRoom(): Promise<void> {
    return this.#queue.waitForRoom();
  }

  /** Every final delivery failure so far. */
  get failures(): readonly DeliveryFailure[] {
    return this.#queue.failures;
  }

  /**
   * Validates, redacts and queues one event; returns what will be sent. Throws `TraceEventError`
   * (invalid or larger than 96 KiB) or `TraceStateError` (closed; or `buffer_full` under the policy
   * "throw") and then sends nothing. Under the policy "drop", an event that finds no room is
   * returned but never sent, and reported as a delivery failure.
   */
  publish(input: unknown): TraceEvent {
    if (this.#closing !== undefined) throw new TraceStateError("trace_closed", "the publisher is closed");
    const event = acceptTraceEvent(input);
    if (this.#queue.offer(event)) return event;
    const held = `${this.#queue.pending} events, ${this.#queue.bufferedBytes} bytes`;
    if (this.#whenBufferFull === "throw") {
      throw new TraceStateError(
        "buffer_full",
        `the delivery buffer is full (${held} not yet accepted by EventBridge); await waitForRoom() and emit again`,
      );
    }
    this.#queue.refuse(event, BUFFER_FULL_CODE, `dropped: the delivery buffer was full (${held})`);
    return event;
  }

  /**
   * Waits for every event published so far; rejects with `TraceDeliveryError` listing every event
   * that finally failed, and with `timeoutMs` also those still unsent then (they keep being retried).
   */
  flush(options: WaitOptions = {}): Promise<void> {
    return this.#queue.flush(waitTimeout(options));
  }

  /**
   * Stops accepting events, waits for delivery and releases the client it built; rejects with
   * `TraceDeliveryError` listing exactly the seqs never accepted. With `timeoutMs`, what is still
   * unsent then is given up (code `Undelivered`). Safe to call again.
   */
  close(options: WaitOptions = {}): Promise<void> {
    this.#closing ??= this.#queue.close(waitTimeout(options)).finally(() => this.#ownedClient?.destroy());
    return this.#closing;
  }
}

function waitTimeout(options: WaitOptions): number | undefined {
  if (options.timeoutMs === undefined) return undefined;
  return nonNegative("timeoutMs", options.timeoutMs, 0);
}

export function createPublisher(options?: PublisherOptions): TraceEventPublisher {
  return new TraceEventPublisher(options);
}
