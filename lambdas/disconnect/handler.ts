import { documentClient } from "../shared/aws-clients.js";
import { type EnvRecord, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import type { WebSocketEvent } from "../shared/websocket-event.js";
import { makeDisconnect } from "./disconnect.js";

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  const { log, metrics } = createTelemetry(env, "disconnect");
  const disconnect = makeDisconnect({
    store: dynamoTraceStore(documentClient(env, runtime.signal), tableName),
    log,
    metrics,
  });
  return async (event: WebSocketEvent) => {
    try {
      return await disconnect(event);
    } finally {
      metrics.flush();
    }
  };
}
