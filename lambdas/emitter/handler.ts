import { DEFAULT_EVENT_RETENTION_DAYS, DEFAULT_MAX_RUNS_WATCHERS } from "../../protocol/index.js";
import { documentClient, managementClient, sqsClient } from "../shared/aws-clients.js";
import {
  ConfigError,
  type EnvRecord,
  optionalString,
  positiveInteger,
  requiredString,
} from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { dynamoRunIndex } from "../shared/run-index.js";
import { dynamoRunsWatchers } from "../shared/runs-watchers.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { signedConnectionGateway } from "../shared/signed-connection-gateway.js";
import { createTelemetry } from "../shared/telemetry.js";
import { dynamoTraceStore } from "../shared/trace-store.js";
import { sqsDeadLetters } from "./dead-letters.js";
import { type FanOutMode, makeEmitter } from "./emitter.js";

export const DEFAULT_EMITTER_CONCURRENCY = 32;
export const DEFAULT_RUNS_WATCHERS_CACHE_MS = 2000;

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const tableName = requiredString(env, ENV.tableName, "the trace-stream DynamoDB table");
  // One client (one connection pool) for the store, the run index and the runs watchers.
  const dynamo = documentClient(env, runtime.signal);
  const endpoint = requiredString(env, ENV.connectionsEndpoint, "the WebSocket API's @connections endpoint");
  const queueUrl = requiredString(env, ENV.deadLetterQueueUrl, "the queue that receives rejected events");
  const source = requiredString(env, ENV.eventSource, "the EventBridge source of trace events");
  const retentionDays = positiveInteger(env, ENV.eventRetentionDays, DEFAULT_EVENT_RETENTION_DAYS);
  const concurrency = positiveInteger(env, ENV.emitterConcurrency, DEFAULT_EMITTER_CONCURRENCY);
  const fanOut = fanOutMode(env);
  const { log, metrics, beginInvocation } = createTelemetry(env, "emitter");
  const emit = makeEmitter({
    store: dynamoTraceStore(dynamo, tableName),
    runIndex: dynamoRunIndex(dynamo, tableName),
    runsWatchers: dynamoRunsWatchers(dynamo, tableName),
    runsWatchersCacheMs: positiveInteger(env, ENV.runsWatchersCacheMs, DEFAULT_RUNS_WATCHERS_CACHE_MS),
    maxRunsWatchers: positiveInteger(env, ENV.maxRunsWatchers, DEFAULT_MAX_RUNS_WATCHERS),
    gateway: signedConnectionGateway({
      endpoint,
      client: managementClient(endpoint, env, runtime.signal),
      sockets: concurrency,
      ...(runtime.signal ? { signal: runtime.signal } : {}),
    }),
    deadLetters: sqsDeadLetters(sqsClient(env, runtime.signal), queueUrl),
    log,
    metrics,
    now: runtime.now ?? Date.now,
    source,
    retentionSeconds: retentionDays * 24 * 60 * 60,
    concurrency,
    fanOut,
  });
  return async (event: unknown) => {
    beginInvocation();
    try {
      return await emit(event);
    } finally {
      metrics.flush();
    }
  };
}

/** FAN_OUT_MODE: "direct" (default) or "stream". */
export function fanOutMode(env: EnvRecord): FanOutMode {
  const value = optionalString(env, ENV.fanOutMode) ?? "direct";
  if (value !== "direct" && value !== "stream") {
    throw new ConfigError(`${ENV.fanOutMode} must be "direct" or "stream", got "${value}".`);
  }
  return value;
}
