import { replayFrames, TARGET_BATCH_BYTES, type TraceEvent } from "../../protocol/index.js";
import { settleWithLimit } from "../emitter/bounded-pool.js";
import { CONNECT_GRACE_MS } from "../emitter/emitter.js";
import { type ConnectionGateway, ConnectionPostError } from "../shared/connection-gateway.js";
import type { RunIndex, RunSummary } from "../shared/run-index.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import { type StreamedEvent, type StreamRecord, streamedEvent } from "./stream-records.js";

export interface FanOutDeps {
  readonly store: Pick<TraceStore, "subscribers" | "pruneSubscription">;
  readonly gateway: Pick<ConnectionGateway, "post">;
  /**
   * The runs list's summary items: in stream mode the fan-out keeps them, one write per trace per
   * batch instead of the emitter's one per event.
   */
  readonly runIndex: Pick<RunIndex, "recordEvents">;
  /** Posts a changed run summary to the runs watchers (lambdas/shared/run-updates.ts). */
  readonly postRun: (summary: RunSummary) => Promise<void>;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
  /** Maximum @connections posts in flight for one trace. */
  readonly concurrency: number;
  /** Traces of one batch fanned out at once. @default 4 */
  readonly traceConcurrency?: number;
  /** Largest `events` frame, in bytes (an event larger than this travels alone). @default 32 KiB */
  readonly frameBytes?: number;
}

/** The events of one trace in a batch: ascending seq, each once, and where the trace starts. */
export interface TraceBatch {
  readonly traceId: string;
  readonly events: readonly TraceEvent[];
  /** Sequence number of the trace's first record in the batch: where a retry must restart. */
  readonly firstSequenceNumber: string;
  /** The latest TTL of the events' items (epoch seconds), when the records carry it. */
  readonly expiresAt?: number | undefined;
}

/** Lambda's partial batch response (ReportBatchItemFailures). */
export interface BatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

const LOGGED_FAILURES = 5;

/**
 * Groups a batch's events by trace, in the order traces first appear. The stream already orders
 * one trace's records (one partition key, one shard); sorting by seq again and dropping repeated
 * seqs makes the frames right whatever order or repetition a retry brings.
 */
export function groupByTrace(events: readonly StreamedEvent[]): TraceBatch[] {
  const traces = new Map<
    string,
    { firstSequenceNumber: string; bySeq: Map<number, TraceEvent>; expiresAt: number | undefined }
  >();
  for (const { sequenceNumber, event, expiresAt } of events) {
    let trace = traces.get(event.trace_id);
    if (!trace) {
      trace = { firstSequenceNumber: sequenceNumber, bySeq: new Map(), expiresAt: undefined };
      traces.set(event.trace_id, trace);
    }
    if (!trace.bySeq.has(event.seq)) trace.bySeq.set(event.seq, event);
    if (expiresAt !== undefined) trace.expiresAt = Math.max(trace.expiresAt ?? 0, expiresAt);
  }
  return [...traces].map(([traceId, { firstSequenceNumber, bySeq, expiresAt }]) => ({
    traceId,
    firstSequenceNumber,
    events: [...bySeq.values()].sort((a, b) => a.seq - b.seq),
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }));
}

/** Sequence numbers are decimal strings of growing length and value: compare as numbers. */
export function compareSequenceNumbers(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The stream mode's fan-out (the event source mapping's target): the emitter stores each event,
 * DynamoDB Streams carries the event items' INSERTs here in order and in batches, and each trace
 * of a batch reads its subscribers once and gets one `events` frame per connection per ≤32 KiB of
 * events, ascending by seq. Many events cost one subscriber query and one post per connection,
 * instead of one of each per event.
 *
 * As in the emitter, a failed post is counted and logged, not retried by failing the batch: the
 * event is stored, and the client reads it on its next gap or heartbeat `resume`. A connection
 * whose post failed gets no later frame of the batch, so it sees a gap rather than a jump. Only a
 * storage failure (reading a trace's subscribers) fails its trace, as a batch item failure at the
 * trace's first record: Lambda retries from there, not the traces already fanned out before it.
 */
export function makeFanOut(deps: FanOutDeps) {
  const frameBytes = deps.frameBytes ?? TARGET_BATCH_BYTES;
  const traceConcurrency = deps.traceConcurrency ?? 4;

  async function fanOutTrace(batch: TraceBatch) {
    const frames = replayFrames(batch.traceId, batch.events, frameBytes);
    const connectedBefore = deps.now() - CONNECT_GRACE_MS;
    let delivered = 0;
    let pruned = 0;
    let failed = 0;
    let posted = 0;
    const logged: { connectionId: string; throttled: boolean; error: string }[] = [];
    for await (const connectionIds of deps.store.subscribers(batch.traceId)) {
      const failures = await settleWithLimit(connectionIds, deps.concurrency, async (connectionId) => {
        for (const frame of frames) {
          posted++;
          if ((await deps.gateway.post(connectionId, frame)) === "gone") {
            try {
              if (await deps.store.pruneSubscription(batch.traceId, connectionId, connectedBefore)) pruned++;
            } catch (error) {
              deps.metrics.count("PruneFailures");
              deps.log.warn("stale subscription not pruned", { connectionId, error: String(error) });
            }
            return;
          }
        }
        delivered++;
      });
      for (const { item, reason } of failures) {
        failed++;
        const throttled = reason instanceof ConnectionPostError && reason.throttled;
        deps.metrics.count(throttled ? "DeliveryThrottled" : "DeliveryFailures");
        if (logged.length < LOGGED_FAILURES)
          logged.push({ connectionId: item, throttled, error: String(reason) });
      }
    }
    return { frames: frames.length, posted, delivered, pruned, failed, logged };
  }

  /**
   * The runs list is a summary, not the record: a failed update is counted and logged, not
   * thrown (a retried batch would post its events again). A batch the stream hands over twice
   * (a retry after a failure, or a restart before the checkpoint) counts its events twice.
   */
  async function recordRun(batch: TraceBatch): Promise<void> {
    if (batch.expiresAt === undefined) return;
    let summary: RunSummary | undefined;
    try {
      summary = await deps.runIndex.recordEvents(batch.events, batch.expiresAt);
    } catch (error) {
      deps.metrics.count("RunIndexFailures");
      deps.log.warn("run summary not updated", { traceId: batch.traceId, error: String(error) });
    }
    if (summary) await deps.postRun(summary);
  }

  return async function fanOut(records: readonly StreamRecord[]): Promise<BatchResponse> {
    const events: StreamedEvent[] = [];
    for (const record of records) {
      const read = streamedEvent(record);
      if ("event" in read) events.push(read);
      else {
        deps.metrics.count("StreamRecordsSkipped");
        deps.log.warn("stream record skipped", { reason: read.skipped, sequenceNumber: read.sequenceNumber });
      }
    }
    const batches = groupByTrace(events);
    const started = deps.now();
    const storageFailures = await settleWithLimit(batches, traceConcurrency, async (batch) => {
      const { logged, ...result } = await fanOutTrace(batch);
      await recordRun(batch);
      const eventCount = batch.events.length;
      deps.metrics.count("EventsDelivered", result.delivered * eventCount);
      deps.metrics.count("FramesPosted", result.posted);
      if (result.pruned > 0) deps.metrics.count("StaleConnectionsPruned", result.pruned);
      const fields = {
        traceId: batch.traceId,
        fromSeq: batch.events[0]?.seq,
        toSeq: batch.events.at(-1)?.seq,
        events: eventCount,
        ...result,
      };
      if (result.failed > 0) {
        deps.log.error("fan-out incomplete: the events are stored, clients resume them", {
          ...fields,
          failures: logged,
        });
      } else {
        deps.log.debug("events delivered", fields);
      }
    });
    deps.metrics.milliseconds("FanOutDuration", deps.now() - started);
    const batchItemFailures = storageFailures
      .map(({ item, reason }) => {
        deps.log.error("subscribers not read: the trace's records are retried", {
          traceId: item.traceId,
          error: String(reason),
        });
        return item.firstSequenceNumber;
      })
      .sort(compareSequenceNumbers)
      .map((itemIdentifier) => ({ itemIdentifier }));
    if (batchItemFailures.length > 0) deps.metrics.count("StreamBatchItemFailures", batchItemFailures.length);
    return { batchItemFailures };
  };
}
