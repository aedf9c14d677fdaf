import { keys, PARTITION_KEY, SORT_KEY, seqFromEventKey, TTL_ATTRIBUTE } from "../../lib/table-design.js";
import type { TraceEvent } from "../../protocol/index.js";

/** A DynamoDB Streams record as Lambda delivers it (the fields the fan-out reads). */
export interface StreamRecord {
  readonly eventName?: string | undefined;
  readonly dynamodb?:
    | {
        readonly SequenceNumber?: string | undefined;
        readonly Keys?: Record<string, { S?: string | undefined } | undefined> | undefined;
        readonly NewImage?:
          | Record<string, { S?: string | undefined; N?: string | undefined } | undefined>
          | undefined;
      }
    | undefined;
}

/** One stored event read from the stream, with the record's sequence number (its batch item id). */
export interface StreamedEvent {
  readonly sequenceNumber: string;
  readonly event: TraceEvent;
  /** The item's TTL (epoch seconds), which the trace's run summary takes too. */
  readonly expiresAt?: number | undefined;
}

export type StreamedRecord = StreamedEvent | { readonly skipped: string; readonly sequenceNumber?: string };

/**
 * The stored event an INSERT of an event item carries (NEW_IMAGE), or why the record is skipped.
 * The event source mapping's filter passes only such records; this checks again, since a record
 * that is not one is no reason to fail (and so to block) the shard. The payload is what the
 * emitter stored after validating the event, so only its identity is checked against the keys.
 */
export function streamedEvent(record: StreamRecord): StreamedRecord {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (typeof sequenceNumber !== "string") return { skipped: "no sequence number" };
  const skip = (skipped: string) => ({ skipped, sequenceNumber });
  if (record.eventName !== "INSERT") return skip(`${String(record.eventName)} is not an INSERT`);
  const pk = record.dynamodb?.Keys?.[PARTITION_KEY]?.S;
  const sk = record.dynamodb?.Keys?.[SORT_KEY]?.S;
  if (!pk?.startsWith(keys.tracePrefix) || !sk?.startsWith(keys.eventPrefix))
    return skip("not an event item");
  const payload = record.dynamodb?.NewImage?.payload?.S;
  if (payload === undefined) return skip("no payload in the new image (is the stream NEW_IMAGE?)");
  let event: TraceEvent;
  try {
    event = JSON.parse(payload) as TraceEvent;
  } catch {
    return skip("the payload is not JSON");
  }
  if (
    typeof event !== "object" ||
    event === null ||
    keys.trace(String(event.trace_id)) !== pk ||
    event.seq !== seqFromEventKey(sk)
  ) {
    return skip("the payload does not match the item's keys");
  }
  const expiresAt = Number(record.dynamodb?.NewImage?.[TTL_ATTRIBUTE]?.N);
  return { sequenceNumber, event, ...(Number.isFinite(expiresAt) ? { expiresAt } : {}) };
}
