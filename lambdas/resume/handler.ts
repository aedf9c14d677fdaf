import { documentClient, managementClient } from "../shared/aws-clients.js";
import { type EnvRecord, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { signedConnectionGateway } from "../shared/signed-connection-gateway.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import { messageBody, type WebSocketEvent } from "../shared/websocket-event.js";
import { makeResume } from "./resume.js";

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  const endpoint = requiredString(env, ENV.connectionsEndpoint, "the WebSocket API's @connections endpoint");
  const { log, metrics } = createTelemetry(env, "resume");
  const resume = makeResume({
    store: dynamoTraceStore(documentClient(env, runtime.signal), tableName),
    // Resume posts one replay page after another to one connection: one socket is enough.
    gateway: signedConnectionGateway({
      endpoint,
      client: managementClient(endpoint, env, runtime.signal),
      sockets: 1,
      ...(runtime.signal ? { signal: runtime.signal } : {}),
    }),
    log,
    metrics,
    now: runtime.now ?? Date.now,
  });
  return async (event: WebSocketEvent, context?: { getRemainingTimeInMillis?: () => number }) => {
    try {
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
