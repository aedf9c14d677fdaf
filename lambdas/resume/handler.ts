import { DEFAULT_EVENT_RETENTION_DAYS } from "../../protocol/index.js";
import { documentClient, managementClient } from "../shared/aws-clients.js";
import { type EnvRecord, positiveInteger, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { dynamoRunIndex } from "../shared/run-index.js";
import { dynamoRunsWatchers } from "../shared/runs-watchers.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { signedConnectionGateway } from "../shared/signed-connection-gateway.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import { messageBody, type WebSocketEvent } from "../shared/websocket-event.js";
import { makeListRuns } from "./list-runs.js";
import { makeResume } from "./resume.js";

/** The read routes: `resume` (a trace's stored events) and `listRuns` (a page of the runs list). */
export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  const endpoint = requiredString(env, ENV.connectionsEndpoint, "the WebSocket API's @connections endpoint");
  const retentionDays = positiveInteger(env, ENV.eventRetentionDays, DEFAULT_EVENT_RETENTION_DAYS);
  const { log, metrics } = createTelemetry(env, "resume");
  const client = documentClient(env, runtime.signal);
  // Resume posts one replay page after another to one connection: one socket is enough.
  const gateway = signedConnectionGateway({
    endpoint,
    client: managementClient(endpoint, env, runtime.signal),
    sockets: 1,
    ...(runtime.signal ? { signal: runtime.signal } : {}),
  });
  const now = runtime.now ?? Date.now;
  const resume = makeResume({ store: dynamoTraceStore(client, tableName), gateway, log, metrics, now });
  const listRuns = makeListRuns({
    runIndex: dynamoRunIndex(client, tableName),
    runsWatchers: dynamoRunsWatchers(client, tableName),
    gateway,
    log,
    metrics,
    now,
    maxDays: retentionDays,
  });
  return async (event: WebSocketEvent, context?: { getRemainingTimeInMillis?: () => number }) => {
    try {
      if (event.requestContext.routeKey === "listRuns") {
        return await listRuns({ connectionId: event.requestContext.connectionId, body: messageBody(event) });
      }
      return await resume({
        connectionId: event.requestContext.connectionId,
        body: messageBody(event),
        remainingMs: context?.getRemainingTimeInMillis && (() => context.getRemainingTimeInMillis?.() ?? 0),
      });
    } finally {
      metrics.flush();
    }
  };
}
