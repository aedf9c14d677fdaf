/**
 * OpenTelemetry bridge: one SpanProcessor streams an instrumented agent to trace-stream live.
 *
 *   const provider = new BasicTracerProvider({
 *     spanProcessors: [new TraceStreamSpanProcessor({ endpoint: "http://127.0.0.1:4010" })],
 *   });
 *
 * Spans map to TraceEvents on start and on end (a running tool call shows as running), after the
 * GenAI semantic conventions; the table is OTEL_SPAN_MAPPING below (and the README's OpenTelemetry
 * section), kept as data so processors in other languages follow the same rules.
 */
import type { AttributeValue, HrTime } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type EventName, type EventStatus, TraceId, TYPICAL_STATUS } from "../protocol/trace-event.js";
import { TraceEventError } from "../protocol/validate.js";
import { type PublisherOptions, TraceEventPublisher } from "./producer-publisher.js";

/** Which spans a row maps: the trace's root span, spans by `gen_ai.operation.name`, or the rest. */
export type SpanRole = "root" | "agent" | "tool" | "model" | "other";

export interface SpanMappingRow {
  readonly role: SpanRole;
  /** `gen_ai.operation.name` values of the row (the root row: any; the last row: anything else). */
  readonly operations: readonly string[];
  /** Event on span start, on a successful end, on an end with status ERROR. */
  readonly start: EventName;
  readonly end: EventName;
  readonly error: EventName;
  /**
   * Metadata key → span attributes tried in order (the first present wins; an array value gives
   * its first element). Pseudo-attributes: `@name` the span name, `@span_id`, `@parent_span_id`.
   * Every end event also gets `duration_ms`; error events `error` (status message, else the
   * exception event's message) and `error_type` (`error.type`, else `exception.type`).
   */
  readonly metadata: Readonly<Record<string, readonly string[]>>;
}

/** The mapping, in match order: the root row wins over the operation rows. */
export const OTEL_SPAN_MAPPING: readonly SpanMappingRow[] = [
  {
    role: "root",
    operations: ["*"],
    start: "plan_created",
    end: "plan_completed",
    error: "plan_failed",
    metadata: { goal: ["gen_ai.agent.description", "@name"], agent: ["gen_ai.agent.name"] },
  },
  {
    role: "agent",
    operations: ["invoke_agent"],
    start: "route_decision",
    end: "custom",
    error: "custom",
    metadata: { agent: ["gen_ai.agent.name", "@name"], reason: ["gen_ai.agent.description"] },
  },
  {
    role: "tool",
    operations: ["execute_tool"],
    start: "tool_call_start",
    end: "tool_call_complete",
    error: "tool_call_error",
    metadata: { tool: ["gen_ai.tool.name", "@name"], call_id: ["gen_ai.tool.call.id", "@span_id"] },
  },
  {
    role: "model",
    operations: ["chat", "text_completion", "generate_content"],
    start: "llm_call_start",
    end: "llm_call_complete",
    error: "llm_call_error",
    metadata: {
      call_id: ["gen_ai.response.id", "@span_id"],
      provider: ["gen_ai.provider.name", "gen_ai.system"],
      model: ["gen_ai.response.model", "gen_ai.request.model"],
      input_tokens: ["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"],
      output_tokens: ["gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"],
      cache_read_tokens: ["gen_ai.usage.cache_read.input_tokens"],
      finish_reason: ["gen_ai.response.finish_reasons"],
      parent_call_id: ["@parent_span_id"],
    },
  },
  {
    role: "other",
    operations: ["*"],
    start: "custom",
    end: "custom",
    error: "custom",
    metadata: { name: ["@name"], operation: ["gen_ai.operation.name"] },
  },
];

/** `SpanStatusCode.ERROR`; a literal so this module loads without OpenTelemetry (types only). */
const STATUS_ERROR = 2;

/** Metadata keys that are counts in the schema: only non-negative integers are passed on. */
const COUNT_KEYS = new Set(["input_tokens", "output_tokens", "cache_read_tokens"]);

export interface TraceStreamSpanProcessorOptions extends PublisherOptions {
  /**
   * A span attribute whose value, on the first span seen of an OTel trace, becomes the trace id
   * (when it is a valid one). @default none: the OTel trace id, 32 lowercase hex characters
   */
  readonly traceIdAttribute?: string;
  /** OTel traces whose seq counters are kept (the oldest are forgotten beyond it). @default 10_000 */
  readonly maxTraces?: number;
  /** Told about a span that could not become an event (invalid, over 96 KiB); never thrown. */
  readonly onError?: (error: TraceEventError) => void;
}

interface TraceState {
  readonly traceId: string;
  nextSeq: number;
  ended: boolean;
}

/**
 * A SpanProcessor that publishes spans as TraceEvents. Each OTel trace is one trace-stream trace
 * with its own dense seq, so one process should produce a whole trace. Events after the trace's
 * terminal event (spans ending after the root span) are not sent: viewers stop at it.
 */
export class TraceStreamSpanProcessor implements SpanProcessor {
  readonly #publisher: TraceEventPublisher;
  readonly #traces = new Map<string, TraceState>();
  readonly #traceIdAttribute: string | undefined;
  readonly #maxTraces: number;
  readonly #onError: ((error: TraceEventError) => void) | undefined;
  #skipped = 0;

  constructor(options: TraceStreamSpanProcessorOptions = {}) {
    const { traceIdAttribute, maxTraces = 10_000, onError, ...publisher } = options;
    if (!Number.isInteger(maxTraces) || maxTraces < 1)
      throw new RangeError("maxTraces must be an integer >= 1");
    this.#publisher = new TraceEventPublisher(publisher);
    this.#traceIdAttribute = traceIdAttribute;
    this.#maxTraces = maxTraces;
    this.#onError = onError;
  }

  /** Span events not sent: refused by the schema, or after their trace ended. */
  get skipped(): number {
    return this.#skipped;
  }

  /** The trace-stream trace id of an OTel trace id, once one of its spans was seen. */
  traceIdOf(otelTraceId: string): string | undefined {
    return this.#traces.get(otelTraceId)?.traceId;
  }

  onStart(span: Span): void {
    const row = mappingRow(span);
    // A started span is running: pending, except the plan and route decisions, which are done.
    const status = row.start === "custom" ? "pending" : TYPICAL_STATUS[row.start];
    this.#publish(span, row.start, metadataOf(span, row), status);
  }

  onEnd(span: ReadableSpan): void {
    const row = mappingRow(span);
    const failed = span.status.code === STATUS_ERROR;
    const metadata: Record<string, unknown> = {
      ...metadataOf(span, row),
      duration_ms: millis(span.duration),
    };
    if (failed) Object.assign(metadata, errorOf(span));
    if (row.role === "agent") metadata.name = failed ? "agent_failed" : "agent_completed";
    const event = failed ? row.error : row.end;
    this.#publish(span, event, metadata, failed ? "error" : TYPICAL_STATUS[event]);
  }

  /** Waits until every event published so far is delivered; rejects with `TraceDeliveryError` if any was lost. */
  forceFlush(): Promise<void> {
    return this.#publisher.flush();
  }

  /** Stops publishing and waits for delivery (same rejection as `forceFlush`). */
  shutdown(): Promise<void> {
    return this.#publisher.close();
  }

  #publish(span: ReadableSpan, event: EventName, metadata: Record<string, unknown>, status: EventStatus) {
    if (this.#publisher.closed) return;
    const trace = this.#trace(span);
    if (trace.ended) {
      this.#skipped++;
      return;
    }
    const parent = span.parentSpanContext?.spanId;
    try {
      this.#publisher.publish({
        event_id: crypto.randomUUID(),
        trace_id: trace.traceId,
        seq: trace.nextSeq,
        event,
        timestamp: new Date().toISOString(),
        status,
        metadata,
        schema_version: 1,
        span_id: span.spanContext().spanId,
        ...(parent === undefined ? {} : { parent_id: parent }),
      });
    } catch (error) {
      // A span must never break the instrumented program: report and go on, no seq used.
      this.#skipped++;
      if (error instanceof TraceEventError) this.#onError?.(error);
      else throw error;
      return;
    }
    trace.nextSeq++;
    if (event === "plan_completed" || event === "plan_failed") trace.ended = true;
  }

  #trace(span: ReadableSpan): TraceState {
    const otelId = span.spanContext().traceId;
    const known = this.#traces.get(otelId);
    if (known) return known;
    const configured =
      this.#traceIdAttribute === undefined ? undefined : span.attributes[this.#traceIdAttribute];
    const traceId =
      typeof configured === "string" && TraceId.safeParse(configured).success ? configured : otelId;
    const state: TraceState = { traceId, nextSeq: 0, ended: false };
    if (this.#traces.size >= this.#maxTraces) {
      const oldest = this.#traces.keys().next().value;
      if (oldest !== undefined) this.#traces.delete(oldest);
    }
    this.#traces.set(otelId, state);
    return state;
  }
}

function isRoot(span: ReadableSpan): boolean {
  return span.parentSpanContext === undefined || span.parentSpanContext.isRemote === true;
}

/** The row a span maps by: the root row for a trace's root span, else by `gen_ai.operation.name`. */
export function mappingRow(span: ReadableSpan): SpanMappingRow {
  const operation = span.attributes["gen_ai.operation.name"];
  const rows = OTEL_SPAN_MAPPING;
  const found = isRoot(span)
    ? rows[0]
    : rows.find((row) => typeof operation === "string" && row.operations.includes(operation));
  return found ?? (rows[rows.length - 1] as SpanMappingRow);
}

function attribute(span: ReadableSpan, name: string): AttributeValue | undefined {
  switch (name) {
    case "@name":
      return span.name;
    case "@span_id":
      return span.spanContext().spanId;
    case "@parent_span_id":
      return span.parentSpanContext?.spanId;
    default:
      return span.attributes[name];
  }
}

function metadataOf(span: ReadableSpan, row: SpanMappingRow): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const [key, names] of Object.entries(row.metadata)) {
    for (const name of names) {
      const raw = attribute(span, name);
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value === undefined || value === null) continue;
      if (COUNT_KEYS.has(key)) {
        if (typeof value === "number" && Number.isInteger(value) && value >= 0) metadata[key] = value;
      } else {
        metadata[key] = String(value);
      }
      break;
    }
  }
  return metadata;
}

function errorOf(span: ReadableSpan): { error: string; error_type: string } {
  const exception = span.events.find((event) => event.name === "exception")?.attributes;
  const message = span.status.message ?? exception?.["exception.message"];
  const type = span.attributes["error.type"] ?? exception?.["exception.type"];
  return { error: String(message ?? "error"), error_type: String(type ?? "Error") };
}

function millis(duration: HrTime): number {
  return Math.max(0, Math.round((duration[0] * 1e3 + duration[1] / 1e6) * 1000) / 1000);
}
