import {
  conflictsFrame,
  describeIssues,
  type ErrorCode,
  errorFrame,
  ReplayBatcher,
  ResumeMessage,
  syncedFrame,
} from "../../protocol/index.js";
import type { ConnectionGateway } from "../shared/connection-gateway.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import type { RouteResult } from "../shared/websocket-event.js";

export interface ResumeDeps {
  readonly store: Pick<
    TraceStore,
    "traceOfConnection" | "eventsAfter" | "highestSeq" | "deleteSubscription" | "conflicts"
  >;
  readonly gateway: Pick<ConnectionGateway, "post">;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
  /** Target size of replay frames. @default 32 KiB */
  readonly batchBytes?: number;
}

export interface ResumeRequest {
  readonly connectionId: string;
  readonly body: string;
}

/**
 * `resume`: send the stored events after the client's cursor, in ascending batches, then
 * `synced`. Everything goes through @connections in order, so `synced` always comes last.
 * When the emitter refused events of this trace (another run reused its id), a `conflicts` frame
 * goes first: a client that stops at the trace's terminal event still reads it.
 *
 * `synced.last_seq` is the highest seq this replay covered, never a seq stored after the read:
 * claiming one the client has not been sent would make it report a false gap.
 */
export function makeResume(deps: ResumeDeps) {
  return async function resume({ connectionId, body }: ResumeRequest): Promise<RouteResult> {
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
    const batcher = new ReplayBatcher(traceId, deps.batchBytes);
    let lastSent = -1;
    let eventsSent = 0;
    let framesSent = 0;
    const send = async (frames: string[]): Promise<boolean> => {
      for (const frame of frames) {
        if ((await deps.gateway.post(connectionId, frame)) === "gone") return false;
        framesSent++;
      }
      return true;
    };

    const conflicts = await deps.store.conflicts(traceId);
    if (conflicts.count > 0 && !(await send([conflictsFrame(traceId, conflicts)]))) {
      return gone(traceId, connectionId);
    }

    for await (const page of deps.store.eventsAfter(traceId, afterSeq)) {
      for (const event of page) {
        if (!(await send(batcher.add(event)))) return gone(traceId, connectionId);
        lastSent = event.seq;
        eventsSent++;
      }
    }
    if (!(await send(batcher.finish()))) return gone(traceId, connectionId);

    const lastSeq = eventsSent > 0 ? lastSent : Math.min(await deps.store.highestSeq(traceId), afterSeq);
    if ((await deps.gateway.post(connectionId, syncedFrame(traceId, lastSeq))) === "gone") {
      return gone(traceId, connectionId);
    }
    deps.metrics.count("ReplayEventsSent", eventsSent);
    deps.metrics.count("ReplayFramesSent", framesSent);
    deps.metrics.milliseconds("ReplayDuration", deps.now() - started);
    deps.log.info("replayed", { connectionId, traceId, afterSeq, eventsSent, framesSent, lastSeq });
    return ok;
  };

  async function gone(traceId: string, connectionId: string): Promise<RouteResult> {
    // The client left mid-replay; its subscription is stale now.
    await deps.store.deleteSubscription(traceId, connectionId);
    deps.metrics.count("StaleConnectionsPruned");
    return { statusCode: 200 };
  }
}
