import { SUBSCRIPTION_TTL_SECONDS, TRACE_ID_PATTERN } from "../../protocol/index.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import type { RouteResult, WebSocketEvent } from "../shared/websocket-event.js";

export interface ConnectDeps {
  readonly store: Pick<TraceStore, "putSubscription" | "countSubscribers">;
  /** Subscribers one trace may have at once; `$connect` refuses more with 429. */
  readonly maxSubscribersPerTrace: number;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
}

/**
 * `$connect`: subscribe the connection to its trace. The authorizer already checked the token;
 * the subscription is written before the upgrade completes, so before the client can `resume`.
 */
export function makeConnect(deps: ConnectDeps) {
  return async function connect(event: WebSocketEvent): Promise<RouteResult> {
    const traceId = event.queryStringParameters?.traceId ?? "";
    const connectionId = event.requestContext.connectionId;
    if (!TRACE_ID_PATTERN.test(traceId)) {
      deps.metrics.count("ConnectionsRefused");
      deps.log.info("connection refused", { reason: "malformed_trace_id", connectionId });
      return { statusCode: 400, body: "traceId must be 1-128 characters of A-Za-z0-9._:/-" };
    }
    const authorizedTrace = event.requestContext.authorizer?.traceId;
    if (authorizedTrace !== undefined && authorizedTrace !== traceId) {
      // Defence in depth: the authorizer's decision was about another trace.
      deps.metrics.count("ConnectionsRefused");
      return { statusCode: 403, body: "the token does not allow this trace" };
    }
    // The count is read before the write, so connections racing in at the cap can overshoot it by
    // the number racing; the cap bounds fan-out work, it is not a quota to the unit.
    const max = deps.maxSubscribersPerTrace;
    if ((await deps.store.countSubscribers(traceId, max)) >= max) {
      deps.metrics.count("ConnectionsRefused");
      deps.log.info("connection refused", { reason: "too_many_subscribers", connectionId, traceId });
      return {
        statusCode: 429,
        body: `trace ${traceId} already has ${max} subscribers, the most it may have`,
      };
    }
    const connectedAt = deps.now();
    const expiresAt = Math.floor(connectedAt / 1000) + SUBSCRIPTION_TTL_SECONDS;
    await deps.store.putSubscription({ traceId, connectionId, connectedAt, expiresAt });
    deps.metrics.count("ConnectionsOpened");
    deps.log.info("connected", { connectionId, traceId, sub: event.requestContext.authorizer?.sub });
    return { statusCode: 200 };
  };
}
