import {
  acceptTraceEvent,
  conflictFrame,
  EVENT_NAME_PATTERN,
  EVENT_NAMES,
  eventFrame,
  redactString,
  type TraceEvent,
  TraceEventError,
} from "../../protocol/index.js";
import {
  CONNECT_GRACE_MS,
  type ConnectionGateway,
  ConnectionPostError,
} from "../shared/connection-gateway.js";
import type { RunIndex, RunSummary } from "../shared/run-index.js";
import { makeRunUpdates } from "../shared/run-updates.js";
import type { RunsWatchers } from "../shared/runs-watchers.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import { EventConflictError, type TraceStore } from "../shared/trace-store.js";
import { settleWithLimit } from "./bounded-pool.js";
import type { DeadLetterPort, Rejection } from "./dead-letters.js";
import { EventBridgeEnvelope } from "./envelope.js";

export interface EmitterDeps {
  readonly store: Pick<TraceStore, "putEvent" | "subscribers" | "pruneSubscription" | "putConflict">;
  readonly gateway: Pick<ConnectionGateway, "post">;
  /** The runs list's summary items (lambdas/shared/run-index.ts). */
  readonly runIndex: Pick<RunIndex, "recordEvent">;
  /** Connections watching the runs list: each gets the summaries its grants allow, as they change. */
  readonly runsWatchers: Pick<RunsWatchers, "list" | "prune">;
  /**
   * How long a container reuses the watchers it read (one query per period, not per event): a
   * watcher that connected since misses updates for at most this long.
   */
  readonly runsWatchersCacheMs: number;
  /** Watchers read at most (connect caps them at this many). */
  readonly maxRunsWatchers: number;
  readonly deadLetters: DeadLetterPort;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
  /** The only `source` accepted (the rule matches it too; this guards direct invocations). */
  readonly source: string;
  readonly retentionSeconds: number;
  /** Maximum @connections posts in flight. */
  readonly concurrency: number;
  /**
   * "direct": post each event to its watchers now. "stream": store it only; the fan-out function
   * posts it, batched, from the table's stream. Conflict notices are posted here in both modes.
   * @default "direct"
   */
  readonly fanOut?: FanOutMode;
}

export type FanOutMode = "direct" | "stream";

/** Failed posts named in the fan-out's error line (the rest are only counted). */
const LOGGED_FAILURES = 5;

export type EmitOutcome =
  | { kind: "rejected"; code: Rejection["code"] }
  | { kind: "delivered"; duplicate: boolean; delivered: number; pruned: number; failed: number };

export { CONNECT_GRACE_MS };

const DETAIL_TYPES: ReadonlySet<string> = new Set(EVENT_NAMES);

/**
 * The EventBridge target: validate, redact, store (idempotent on trace+seq), then post to every
 * subscriber. Storing before reading subscribers is what lets a client that subscribes at any
 * moment get each event live or in its `resume` history.
 *
 * A failed post is counted, logged and alarmed, not thrown: throwing would make Lambda retry the
 * invocation and post the event again to every subscriber, for the sake of one. The event is
 * stored, and a client that missed its live copy reads it on its next gap or heartbeat `resume`.
 * Storage failures (storing the event, reading subscribers) still throw, so the event is retried.
 */
export function makeEmitter(deps: EmitterDeps) {
  async function reject(found: Rejection): Promise<EmitOutcome> {
    // A reason can quote the envelope (detail-type, source), which the sender controls.
    const rejection = { ...found, reason: redactString(found.reason) };
    await deps.deadLetters.send(rejection);
    deps.metrics.count("EventsRejected");
    deps.log.warn("event rejected", { code: rejection.code, reason: rejection.reason });
    return { kind: "rejected", code: rejection.code };
  }

  function accept(input: unknown): TraceEvent | Rejection {
    const envelope = EventBridgeEnvelope.safeParse(input);
    if (!envelope.success) {
      return { code: "invalid_envelope", reason: "not an EventBridge event", envelope: input };
    }
    const { source, "detail-type": detailType, detail } = envelope.data;
    if (source !== deps.source) {
      return {
        code: "unexpected_source",
        reason: `source "${source}" is not "${deps.source}"`,
        envelope: input,
      };
    }
    if (!DETAIL_TYPES.has(detailType)) {
      return {
        code: "invalid_event",
        // Quoted only when it has an event name's shape: anything else may be a secret the sender
        // put there, and a cut or escaped copy of it could slip past the redactor.
        reason: EVENT_NAME_PATTERN.test(detailType)
          ? `detail-type "${detailType}" is not a known trace event name`
          : `the detail-type (${detailType.length} characters) is not a trace event name`,
        envelope: input,
      };
    }
    try {
      const event = acceptTraceEvent(detail);
      if (event.event !== detailType) {
        const reason = `detail-type "${detailType}" does not match the event "${event.event}"`;
        return { code: "invalid_event", reason, envelope: input };
      }
      return event;
    } catch (error) {
      if (error instanceof TraceEventError)
        return { code: error.code, reason: error.reason, envelope: input };
      throw error;
    }
  }

  /** Posts one frame to every subscriber of the trace. */
  async function fanOut(traceId: string, frame: string) {
    let delivered = 0;
    let pruned = 0;
    const connectedBefore = deps.now() - CONNECT_GRACE_MS;
    let attempted = 0;
    let failed = 0;
    const logged: { connectionId: string; throttled: boolean; error: string }[] = [];
    for await (const connectionIds of deps.store.subscribers(traceId)) {
      attempted += connectionIds.length;
      const failures = await settleWithLimit(connectionIds, deps.concurrency, async (connectionId) => {
        if ((await deps.gateway.post(connectionId, frame)) === "sent") {
          delivered++;
          return;
        }
        try {
          if (await deps.store.pruneSubscription(traceId, connectionId, connectedBefore)) pruned++;
        } catch (error) {
          // Left for the next event's 410 or the subscription's TTL; not a reason to retry the event.
          deps.metrics.count("PruneFailures");
          deps.log.warn("stale subscription not pruned", { connectionId, error: String(error) });
        }
      });
      for (const { item, reason } of failures) {
        failed++;
        const throttled = reason instanceof ConnectionPostError && reason.throttled;
        deps.metrics.count(throttled ? "DeliveryThrottled" : "DeliveryFailures");
        if (logged.length < LOGGED_FAILURES) {
          logged.push({ connectionId: item, throttled, error: String(reason) });
        }
      }
    }
    return { delivered, pruned, attempted, failed, logged };
  }

  /**
   * Another event holds this seq: almost always another run that reused the trace id. Besides the
   * dead letter, the trace records the refused event (so a viewer that opens the trace later is
   * told on resume) and its watchers get a `conflict` frame now: without them, the second run's
   * producer hears "accepted" and its viewer keeps showing the first run, silently. A watcher the
   * notice missed still reads the record on its next resume, so a failed post is not retried.
   */
  async function refuseConflict(
    event: TraceEvent,
    input: unknown,
    error: EventConflictError,
    expiresAt: number,
  ): Promise<EmitOutcome> {
    const refused = { seq: event.seq, event_id: event.event_id };
    await deps.store.putConflict(event.trace_id, refused, expiresAt);
    const { logged, ...result } = await fanOut(event.trace_id, conflictFrame(event.trace_id, refused));
    const fields = { traceId: event.trace_id, seq: event.seq, ...result };
    deps.metrics.count("EventsConflicting");
    if (result.failed > 0) deps.log.error("conflict notice incomplete", { ...fields, failures: logged });
    else deps.log.warn("seq conflict: watchers told", fields);
    return reject({ code: "seq_conflict", reason: error.message, envelope: input });
  }

  /**
   * The runs list is a summary, not the record: a failed update is counted and logged, not thrown,
   * since a retry would find the event stored (a duplicate) and post it again to every watcher.
   */
  async function recordRun(event: TraceEvent, expiresAt: number): Promise<RunSummary | undefined> {
    try {
      return await deps.runIndex.recordEvent(event, expiresAt);
    } catch (error) {
      deps.metrics.count("RunIndexFailures");
      deps.log.warn("run summary not updated", {
        traceId: event.trace_id,
        seq: event.seq,
        error: String(error),
      });
      return undefined;
    }
  }

  const postRun = makeRunUpdates({
    runsWatchers: deps.runsWatchers,
    cacheMs: deps.runsWatchersCacheMs,
    maxWatchers: deps.maxRunsWatchers,
    gateway: deps.gateway,
    concurrency: deps.concurrency,
    log: deps.log,
    metrics: deps.metrics,
    now: deps.now,
  });

  return async function emit(input: unknown): Promise<EmitOutcome> {
    deps.metrics.count("EventsReceived");
    const accepted = accept(input);
    if (!("event_id" in accepted)) return reject(accepted);
    const event = accepted;

    const expiresAt = Math.floor(deps.now() / 1000) + deps.retentionSeconds;
    let duplicate: boolean;
    try {
      duplicate = (await deps.store.putEvent(event, expiresAt)) === "duplicate";
    } catch (error) {
      if (!(error instanceof EventConflictError)) throw error;
      return refuseConflict(event, input, error, expiresAt);
    }
    deps.metrics.count(duplicate ? "EventsDuplicate" : "EventsStored");
    // In stream mode the fan-out keeps the run summary, one write per batch (lambdas/fan-out).
    const summary = duplicate || deps.fanOut === "stream" ? undefined : await recordRun(event, expiresAt);
    const lag = deps.now() - Date.parse(event.timestamp);
    if (!duplicate && Number.isFinite(lag)) deps.metrics.milliseconds("EventLag", Math.max(0, lag));

    if (deps.fanOut === "stream") {
      // The item's INSERT is on the table's stream: the fan-out function posts it. A duplicate
      // made no stream record, and needs none: its first delivery's record carries it.
      deps.log.debug("event stored for the stream fan-out", {
        traceId: event.trace_id,
        seq: event.seq,
        duplicate,
      });
      return { kind: "delivered", duplicate, delivered: 0, pruned: 0, failed: 0 };
    }
    const started = deps.now();
    const { logged, ...result } = await fanOut(event.trace_id, eventFrame(event));
    deps.metrics.milliseconds("FanOutDuration", deps.now() - started);
    deps.metrics.count("EventsDelivered", result.delivered);
    if (summary) await postRun(summary);
    if (result.pruned > 0) deps.metrics.count("StaleConnectionsPruned", result.pruned);
    const fields = { traceId: event.trace_id, seq: event.seq, event: event.event, duplicate, ...result };
    if (result.failed > 0) {
      deps.log.error("fan-out incomplete: the event is stored, clients resume it", {
        ...fields,
        failures: logged,
      });
    } else {
      // Per event: DEBUG, so only sampled invocations (POWERTOOLS_LOGGER_SAMPLE_RATE) pay for it.
      deps.log.debug("event delivered", fields);
    }
    return {
      kind: "delivered",
      duplicate,
      delivered: result.delivered,
      pruned: result.pruned,
      failed: result.failed,
    };
  };
}
