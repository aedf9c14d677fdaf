import { DEFAULT_MAX_RUNS_WATCHERS, DEFAULT_MAX_SUBSCRIBERS_PER_TRACE } from "../../protocol/index.js";
import { documentClient } from "../shared/aws-clients.js";
import { type EnvRecord, positiveInteger, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { dynamoRunsWatchers } from "../shared/runs-watchers.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import type { WebSocketEvent } from "../shared/websocket-event.js";
import { makeConnect } from "./connect.js";

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  const { log, metrics } = createTelemetry(env, "connect");
  const client = documentClient(env, runtime.signal);
  const connect = makeConnect({
    store: dynamoTraceStore(client, tableName),
    runsWatchers: dynamoRunsWatchers(client, tableName),
    maxRunsWatchers: positiveInteger(env, ENV.maxRunsWatchers, DEFAULT_MAX_RUNS_WATCHERS),
    maxSubscribersPerTrace: positiveInteger(
      env,
      ENV.maxSubscribersPerTrace,
      DEFAULT_MAX_SUBSCRIBERS_PER_TRACE,
    ),
    log,
    metrics,
    now: runtime.now ?? Date.now,
  });
  return async (event: WebSocketEvent) => {
    try {
      return await connect(event);
    } finally {
      metrics.flush();
    }
  };
}
