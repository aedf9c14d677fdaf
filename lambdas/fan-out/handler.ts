import { DEFAULT_MAX_RUNS_WATCHERS } from "../../protocol/index.js";
import { DEFAULT_EMITTER_CONCURRENCY, DEFAULT_RUNS_WATCHERS_CACHE_MS } from "../emitter/handler.js";
import { documentClient, managementClient } from "../shared/aws-clients.js";
import { type EnvRecord, positiveInteger, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { dynamoRunIndex } from "../shared/run-index.js";
import { makeRunUpdates } from "../shared/run-updates.js";
import { dynamoRunsWatchers } from "../shared/runs-watchers.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { signedConnectionGateway } from "../shared/signed-connection-gateway.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import { makeFanOut } from "./fan-out.js";
import type { StreamRecord } from "./stream-records.js";

/** The event source mapping's event: a batch of DynamoDB Streams records. */
interface StreamEvent {
  readonly Records?: readonly StreamRecord[];
}

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  // One client (one connection pool) for the store, the run index and the runs watchers.
  const dynamo = documentClient(env, runtime.signal);
  const endpoint = requiredString(env, ENV.connectionsEndpoint, "the WebSocket API's @connections endpoint");
  const concurrency = positiveInteger(env, ENV.emitterConcurrency, DEFAULT_EMITTER_CONCURRENCY);
  const { log, metrics, beginInvocation } = createTelemetry(env, "fan-out");
  const now = runtime.now ?? Date.now;
  const gateway = signedConnectionGateway({
    endpoint,
    client: managementClient(endpoint, env, runtime.signal),
    sockets: concurrency,
    ...(runtime.signal ? { signal: runtime.signal } : {}),
  });
  const fanOut = makeFanOut({
    store: dynamoTraceStore(dynamo, tableName),
    runIndex: dynamoRunIndex(dynamo, tableName),
    postRun: makeRunUpdates({
      runsWatchers: dynamoRunsWatchers(dynamo, tableName),
      cacheMs: positiveInteger(env, ENV.runsWatchersCacheMs, DEFAULT_RUNS_WATCHERS_CACHE_MS),
      maxWatchers: positiveInteger(env, ENV.maxRunsWatchers, DEFAULT_MAX_RUNS_WATCHERS),
      gateway,
      concurrency,
      log,
      metrics,
      now,
    }),
    gateway,
    log,
    metrics,
    now,
    concurrency,
  });
  return async (event: StreamEvent) => {
    beginInvocation();
    try {
      return await fanOut(Array.isArray(event?.Records) ? event.Records : []);
    } finally {
      metrics.flush();
    }
  };
}
