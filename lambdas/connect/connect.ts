import { MAX_RUNS_WATCHER_GRANTS, SUBSCRIPTION_TTL_SECONDS, TRACE_ID_PATTERN } from "../../protocol/index.js";
import type { RunsWatchers } from "../shared/runs-watchers.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import type { RouteResult, WebSocketEvent } from "../shared/websocket-event.js";

export interface ConnectDeps {
  readonly store: Pick<TraceStore, "putSubscription" | "countSubscribers">;
  /** Subscribers one trace may have at once; `$connect` refuses more with 429. */
  readonly maxSubscribersPerTrace: number;
  /** The runs list's watchers (`?runs=1`). */
  readonly runsWatchers: Pick<RunsWatchers, "put" | "count">;
  /** Runs watchers at once; `$connect` refuses more with 429. */
  readonly maxRunsWatchers: number;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
}

/**
 * `$connect`: subscribe the connection to its trace. The authorizer already checked the token;
 * the subscription is written before the upgrade completes, so before the client can `resume`.
 */
export function makeConnect(deps: ConnectDeps) {
  /**
   * A runs-list connection: the authorizer put the token's grants in its context; the watcher item
   * keeps them, so every list and every live update is filtered by them.
   */
  async function watchRuns(event: WebSocketEvent): Promise<RouteResult> {
    const connectionId = event.requestContext.connectionId;
    const query = event.queryStringParameters ?? {};
    if (query.runs !== "1" || query.traceId !== undefined) {
      deps.metrics.count("ConnectionsRefused");
      return { statusCode: 400, body: "watch the runs list with runs=1 and no traceId" };
    }
    const grants = authorizedGrants(event.requestContext.authorizer);
    if (grants === undefined) {
      // Defence in depth: the authorizer's decision was not about the runs list.
      deps.metrics.count("ConnectionsRefused");
      return { statusCode: 403, body: "the token does not allow the runs list" };
    }
    const max = deps.maxRunsWatchers;
    if ((await deps.runsWatchers.count(max)) >= max) {
      deps.metrics.count("ConnectionsRefused");
      deps.log.info("connection refused", { reason: "too_many_runs_watchers", connectionId });
      return { statusCode: 429, body: `the runs list already has ${max} watchers, the most it may have` };
    }
    const connectedAt = deps.now();
    const expiresAt = Math.floor(connectedAt / 1000) + SUBSCRIPTION_TTL_SECONDS;
    await deps.runsWatchers.put({ connectionId, grants, connectedAt, expiresAt });
    deps.metrics.count("ConnectionsOpened");
    deps.log.info("connected", { connectionId, runs: true, sub: event.requestContext.authorizer?.sub });
    return { statusCode: 200 };
  }

  return async function connect(event: WebSocketEvent): Promise<RouteResult> {
    if (event.queryStringParameters?.runs !== undefined) return watchRuns(event);
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

/** The grants the authorizer passed for a runs-list connection; undefined when it passed none. */
function authorizedGrants(
  context: Readonly<Record<string, unknown>> | null | undefined,
): string[] | undefined {
  if (context?.runs !== "1" || typeof context.grants !== "string") return undefined;
  let grants: unknown;
  try {
    grants = JSON.parse(context.grants);
  } catch {
    return undefined;
  }
  if (
    !Array.isArray(grants) ||
    grants.length === 0 ||
    grants.length > MAX_RUNS_WATCHER_GRANTS ||
    !grants.every((grant) => typeof grant === "string" && grant.length > 0 && grant.length <= 129)
  ) {
    return undefined;
  }
  return grants;
}
