import { DEFAULT_EMITTER_CONCURRENCY } from "../emitter/handler.js";
import { documentClient, managementClient } from "../shared/aws-clients.js";
import { type EnvRecord, positiveInteger, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { dynamoRunIndex } from "../shared/run-index.js";
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
  const endpoint = requiredString(env, ENV.connectionsEndpoint, "the WebSocket API's @connections endpoint");
  const concurrency = positiveInteger(env, ENV.emitterConcurrency, DEFAULT_EMITTER_CONCURRENCY);
  const { log, metrics, beginInvocation } = createTelemetry(env, "fan-out");
  const fanOut = makeFanOut({
    store: dynamoTraceStore(documentClient(env, runtime.signal), tableName),
    runIndex: dynamoRunIndex(documentClient(env, runtime.signal), tableName),
    gateway: signedConnectionGateway({
      endpoint,
      client: managementClient(endpoint, env, runtime.signal),
      sockets: concurrency,
      ...(runtime.signal ? { signal: runtime.signal } : {}),
    }),
    log,
    metrics,
    now: runtime.now ?? Date.now,
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
