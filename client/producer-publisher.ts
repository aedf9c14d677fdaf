import { EventBridgeClient, type EventBridgeClientConfig } from "@aws-sdk/client-eventbridge";
import { DEFAULT_EVENT_SOURCE } from "../lib/event-rule.js";
import type { TraceEvent } from "../protocol/trace-event.js";
import { acceptTraceEvent } from "../protocol/validate.js";
import { DeliveryQueue } from "./producer-delivery.js";
import { type DeliveryFailure, type TraceDeliveryError, TraceStateError } from "./producer-errors.js";

/** How events reach EventBridge, and how hard to try. */
export interface PublisherOptions {
  /** A client to send with (it stays open after `close()`). Default: one built from the options below. */
  readonly client?: EventBridgeClient;
  /** EventBridge endpoint, e.g. `http://127.0.0.1:4010` for the local stack. Default: AWS. */
  readonly endpoint?: string;
  /** Default: the SDK's region chain (AWS_REGION, profile); `us-east-1` for a loopback endpoint. */
  readonly region?: string;
  /** Default: the SDK's credential chain; fixed dummy credentials for a loopback endpoint. */
  readonly credentials?: EventBridgeClientConfig["credentials"];
  /** @default "trace-stream" */
  readonly busName?: string;
  /** The `Source` the emitter's rule matches. @default "trace-stream" */
  readonly source?: string;
  /** Wait this long after an idle queue receives an event before sending. @default 0 (next tick) */
  readonly lingerMs?: number;
  /** PutEvents attempts per event, the first included, for retryable failures. @default 8 */
  readonly maxAttempts?: number;
  /** Full-jitter backoff base and cap between resends. @default 100, 5000 */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Told about every final delivery failure as it happens (flush()/close() report them too). */
  readonly onDeliveryError?: (error: TraceDeliveryError) => void;
}

export const DEFAULT_BUS_NAME = DEFAULT_EVENT_SOURCE;
export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_BASE_DELAY_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 5000;

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

/**
 * Publishes complete TraceEvents (seq chosen by the caller): validates and redacts each one before
 * it leaves the process, then sends in the background. `createTrace` builds on it; use it directly
 * to forward or replay events whose seq is already assigned.
 */
export class TraceEventPublisher {
  readonly #queue: DeliveryQueue;
  readonly #ownedClient: EventBridgeClient | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PublisherOptions = {}) {
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
      throw new RangeError("maxAttempts must be an integer >= 1");
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
      maxAttempts,
      baseDelayMs: nonNegative("baseDelayMs", options.baseDelayMs, DEFAULT_BASE_DELAY_MS),
      maxDelayMs: nonNegative("maxDelayMs", options.maxDelayMs, DEFAULT_MAX_DELAY_MS),
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

  /** Every final delivery failure so far. */
  get failures(): readonly DeliveryFailure[] {
    return this.#queue.failures;
  }

  /**
   * Validates, redacts and queues one event; returns what will be sent. Throws `TraceEventError`
   * (invalid or larger than 96 KiB) or `TraceStateError` (closed) and then sends nothing.
   */
  publish(input: unknown): TraceEvent {
    if (this.#closing !== undefined) throw new TraceStateError("trace_closed", "the publisher is closed");
    const event = acceptTraceEvent(input);
    this.#queue.enqueue(event);
    return event;
  }

  /** Waits for every event published so far; rejects with `TraceDeliveryError` if any finally failed. */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  /** Stops accepting events, flushes, and releases the client it built. Safe to call again. */
  close(): Promise<void> {
    this.#closing ??= this.#queue.flush().finally(() => this.#ownedClient?.destroy());
    return this.#closing;
  }
}

export function createPublisher(options?: PublisherOptions): TraceEventPublisher {
  return new TraceEventPublisher(options);
}
