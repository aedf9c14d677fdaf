import type { z } from "zod";
import { metadataShapeIssue } from "./json-shape.js";
import { MAX_EVENT_BYTES, utf8Bytes } from "./limits.js";
import { redact } from "./redact.js";
import { TraceEvent } from "./trace-event.js";

export type TraceEventErrorCode = "invalid_event" | "event_too_large";

/** An event that can never be accepted; `reason` is fit for a dead-letter entry or a CLI message. */
export class TraceEventError extends Error {
  override readonly name = "TraceEventError";
  readonly code: TraceEventErrorCode;
  readonly reason: string;
  constructor(code: TraceEventErrorCode, reason: string, options?: { cause?: unknown }) {
    super(`${code}: ${reason}`, options);
    this.code = code;
    this.reason = reason;
  }
}

/** One line per zod issue, `path: message`, so a reader sees every problem at once. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/**
 * Validates, redacts and size-checks an event. The result is what may be stored and sent: a
 * TraceEvent whose serialized form is at most 96 KiB. Throws `TraceEventError` otherwise.
 */
export function acceptTraceEvent(input: unknown): TraceEvent {
  // Bounded before anything recursive (zod, the redactor, JSON.stringify) walks the metadata.
  const shape =
    input !== null && typeof input === "object" && "metadata" in input
      ? metadataShapeIssue(input.metadata)
      : undefined;
  if (shape) throw new TraceEventError(shape.code, `metadata: ${shape.message}`);
  const parsed = TraceEvent.safeParse(input);
  if (!parsed.success) {
    throw new TraceEventError("invalid_event", describeIssues(parsed.error), { cause: parsed.error });
  }
  const event = { ...parsed.data, metadata: redact(parsed.data.metadata) } as TraceEvent;
  const bytes = utf8Bytes(JSON.stringify(event));
  if (bytes > MAX_EVENT_BYTES) {
    throw new TraceEventError(
      "event_too_large",
      `serialized event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES} (96 KiB)`,
    );
  }
  return event;
}
