import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { TraceStore } from "../shared/trace-store.js";
import type { RouteResult, WebSocketEvent } from "../shared/websocket-event.js";

export interface DisconnectDeps {
  readonly store: Pick<TraceStore, "deleteConnection">;
  readonly log: Log;
  readonly metrics: MetricsPort;
}

/**
 * `$disconnect`: delete the subscription. API Gateway delivers this best effort, so a missed one
 * is cleaned up by the emitter (410 Gone) and by TTL; an already-deleted item is no error.
 */
export function makeDisconnect(deps: DisconnectDeps) {
  return async function disconnect(event: WebSocketEvent): Promise<RouteResult> {
    const connectionId = event.requestContext.connectionId;
    await deps.store.deleteConnection(connectionId);
    deps.metrics.count("ConnectionsClosed");
    deps.log.info("disconnected", { connectionId });
    return { statusCode: 200 };
  };
}
