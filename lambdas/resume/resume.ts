import {
  conflictsFrame,
  describeIssues,
  type ErrorCode,
  errorFrame,
  REPLAY_PAGE_BYTES,
  REPLAY_PAGE_EVENTS,
  RESUME_REQUESTS_PER_WINDOW,
  RESUME_WINDOW_MS,
  ReplayBatcher,
  ResumeMessage,
  syncedFrame,
  utf8Bytes,
} from "../../protocol/index.js";
import type { ConnectionGateway } from "../shared/connection-gateway.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import type { RouteResult } from "../shared/websocket-event.js";

/** What one connection's `resume` requests may cost. Defaults are protocol/limits.ts's. */
export interface ResumeLimits {
  /** Events one request replays at most; the client asks again for the rest. */
  readonly pageEvents: number;
  /** Bytes of frames one request sends at most (a frame that starts within it is finished). */
  readonly pageBytes: number;
  /** Requests one connection may make per window ... */
  readonly requestsPerWindow: number;
  /** ... of this many milliseconds. */
  readonly windowMs: number;
  /**
   * Stop replaying when the invocation has less than this left, so `synced` (with `more`) still
   * goes out before Lambda's timeout. @default 3000
   */
  readonly reserveMs: number;
}

export const DEFAULT_RESUME_LIMITS: ResumeLimits = {
  pageEvents: REPLAY_PAGE_EVENTS,
  pageBytes: REPLAY_PAGE_BYTES,
  requestsPerWindow: RESUME_REQUESTS_PER_WINDOW,
  windowMs: RESUME_WINDOW_MS,
  reserveMs: 3000,
};

export interface ResumeDeps {
  readonly store: Pick<
    TraceStore,
    "traceOfConnection" | "eventsAfter" | "highestSeq" | "deleteSubscription" | "takeRequest" | "conflicts"
  >;
  readonly gateway: Pick<ConnectionGateway, "post">;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
  /** Target size of replay frames. @default 32 KiB */
  readonly batchBytes?: number;
  readonly limits?: Partial<ResumeLimits> | undefined;
}

export interface ResumeRequest {
  readonly connectionId: string;
  readonly body: string;
  /** The invocation's time left (Lambda's `getRemainingTimeInMillis`); unbounded when absent. */
  readonly remainingMs?: (() => number) | undefined;
}

/**
 * `resume`: send the stored events after the client's cursor, in ascending batches, then
 * `synced`. Everything goes through @connections in order, so `synced` always comes last.
 * When the emitter refused events of this trace (another run reused its id), a `conflicts` frame
 * goes first: a client that stops at the trace's terminal event still reads it.
 *
 * `synced.last_seq` is the highest seq this replay covered, never a seq stored after the read:
 * claiming one the client has not been sent would make it report a false gap.
 *
 * One request does bounded work: at most a page of events (by count and by bytes), and no more
 * once the invocation's time runs low; `synced` then says `more` and the client asks again from
 * where the page ended. Each connection has a request budget per window, so repeating the
 * request cannot multiply the work either.
 */
export function makeResume(deps: ResumeDeps) {
  const limits = { ...DEFAULT_RESUME_LIMITS, ...deps.limits };
  return async function resume({ connectionId, body, remainingMs }: ResumeRequest): Promise<RouteResult> {
    const ok: RouteResult = { statusCode: 200 };
    const refuse = async (code: ErrorCode, message: string) => {
      await deps.gateway.post(connectionId, errorFrame(code, message));
      return ok;
    };

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return refuse("invalid_json", "resume must be JSON");
    }
    const request = ResumeMessage.safeParse(json);
    if (!request.success) return refuse("invalid_message", `resume: ${describeIssues(request.error)}`);
    const { afterSeq } = request.data;

    const traceId = await deps.store.traceOfConnection(connectionId);
    if (traceId === undefined)
      return refuse("not_subscribed", "this connection has no subscription; reconnect");

    const started = deps.now();
    const allowed = await deps.store.takeRequest(connectionId, traceId, {
      now: started,
      windowMs: limits.windowMs,
      perWindow: limits.requestsPerWindow,
    });
    if (allowed !== "allowed") {
      deps.metrics.count("ResumeRateLimited");
      deps.log.debug("resume rate limited", { connectionId, traceId, retryAfterMs: allowed.retryAfterMs });
      await deps.gateway.post(
        connectionId,
        errorFrame(
          "rate_limited",
          `at most ${limits.requestsPerWindow} resume requests per ${limits.windowMs / 1000} s`,
          allowed.retryAfterMs,
        ),
      );
      return ok;
    }

    const batcher = new ReplayBatcher(traceId, deps.batchBytes);
    let lastSent = -1;
    let eventsSent = 0;
    let framesSent = 0;
    let bytesSent = 0;
    const send = async (frames: string[]): Promise<boolean> => {
      for (const frame of frames) {
        if ((await deps.gateway.post(connectionId, frame)) === "gone") return false;
        framesSent++;
        bytesSent += utf8Bytes(frame);
      }
      return true;
    };
    // A page always carries at least one event, so a client asking again always makes progress.
    const pageFull = () =>
      eventsSent === limits.pageEvents ||
      bytesSent >= limits.pageBytes ||
      (eventsSent > 0 && remainingMs !== undefined && remainingMs() < limits.reserveMs);

    const conflicts = await deps.store.conflicts(traceId);
    if (conflicts.count > 0 && !(await send([conflictsFrame(traceId, conflicts)]))) {
      return gone(traceId, connectionId);
    }

    // One more than a page is read, so a page that ends exactly at the last stored event does not
    // claim there is more.
    let more = false;
    replay: for await (const page of deps.store.eventsAfter(traceId, afterSeq, limits.pageEvents + 1)) {
      for (const event of page) {
        if (pageFull()) {
          more = true;
          break replay;
        }
        if (!(await send(batcher.add(event)))) return gone(traceId, connectionId);
        lastSent = event.seq;
        eventsSent++;
      }
    }
    if (!(await send(batcher.finish()))) return gone(traceId, connectionId);

    const lastSeq = eventsSent > 0 ? lastSent : Math.min(await deps.store.highestSeq(traceId), afterSeq);
    if ((await deps.gateway.post(connectionId, syncedFrame(traceId, lastSeq, more))) === "gone") {
      return gone(traceId, connectionId);
    }
    deps.metrics.count("ReplayEventsSent", eventsSent);
    deps.metrics.count("ReplayFramesSent", framesSent);
    deps.metrics.milliseconds("ReplayDuration", deps.now() - started);
    deps.log.debug("replayed", { connectionId, traceId, afterSeq, eventsSent, framesSent, lastSeq, more });
    return ok;
  };

  async function gone(traceId: string, connectionId: string): Promise<RouteResult> {
    // The client left mid-replay; its subscription is stale now.
    await deps.store.deleteSubscription(traceId, connectionId);
    deps.metrics.count("StaleConnectionsPruned");
    return { statusCode: 200 };
  }
}
