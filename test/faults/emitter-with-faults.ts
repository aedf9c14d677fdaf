/**
 * The emitter as lambdas/emitter/handler.ts composes it (same core, same adapters, same
 * environment), with hooks to inject faults at its boundaries: middleware on the DynamoDB or
 * @connections client, or a wrapper around the store or the @connections gateway. Passed to the local stack as
 * `handlers.emitter`, so EventBridge delivers to it, retries it and dead-letters for it as for the
 * real one.
 */
import type { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { InternalServerError } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { sqsDeadLetters } from "../../lambdas/emitter/dead-letters.js";
import { makeEmitter } from "../../lambdas/emitter/emitter.js";
import { DEFAULT_EMITTER_CONCURRENCY, fanOutMode } from "../../lambdas/emitter/handler.js";
import { makeFanOut } from "../../lambdas/fan-out/fan-out.js";
import { documentClient, managementClient, sqsClient } from "../../lambdas/shared/aws-clients.js";
import { type ConnectionGateway, managementApiGateway } from "../../lambdas/shared/connection-gateway.js";
import { ENV } from "../../lambdas/shared/env-names.js";
import { dynamoRunIndex } from "../../lambdas/shared/run-index.js";
import { makeRunUpdates } from "../../lambdas/shared/run-updates.js";
import { dynamoRunsWatchers } from "../../lambdas/shared/runs-watchers.js";
import { createTelemetry } from "../../lambdas/shared/telemetry.js";
import { dynamoTraceStore, type TraceStore } from "../../lambdas/shared/trace-store.js";
import type { HandlerFactory } from "../../local/index.js";

export interface EmitterFaults {
  /** Gets the store's DynamoDB client before first use (add fault middleware here). */
  readonly dynamo?: (client: DynamoDBDocumentClient) => void;
  /** Gets the @connections client before first use (add fault middleware here). */
  readonly management?: (client: ApiGatewayManagementApiClient) => void;
  readonly store?: (store: TraceStore) => TraceStore;
  readonly gateway?: (gateway: ConnectionGateway) => ConnectionGateway;
}

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`the local stack did not set ${name}`);
  return value;
}

/**
 * What the faulty emitter and fan-out share, as their handlers compose it: the DynamoDB client,
 * store and @connections gateway with the suite's faults applied, and the function's telemetry.
 */
function faultyParts(
  env: Record<string, string | undefined>,
  faults: EmitterFaults,
  name: "emitter" | "fan-out",
) {
  const client = documentClient(env);
  faults.dynamo?.(client);
  const store = dynamoTraceStore(client, required(env, ENV.tableName));
  const management = managementClient(required(env, ENV.connectionsEndpoint), env);
  faults.management?.(management);
  const gateway = managementApiGateway(management);
  return {
    client,
    store: faults.store ? faults.store(store) : store,
    gateway: faults.gateway ? faults.gateway(gateway) : gateway,
    ...createTelemetry(env, name),
  };
}

export function emitterWithFaults(faults: EmitterFaults): HandlerFactory {
  return (env, runtime) => {
    const { client, store, gateway, log, metrics } = faultyParts(env, faults, "emitter");
    const emit = makeEmitter({
      store,
      runIndex: dynamoRunIndex(client, required(env, ENV.tableName)),
      runsWatchers: dynamoRunsWatchers(client, required(env, ENV.tableName)),
      runsWatchersCacheMs: 2000,
      maxRunsWatchers: 200,
      gateway,
      deadLetters: sqsDeadLetters(sqsClient(env), required(env, ENV.deadLetterQueueUrl)),
      log,
      metrics,
      now: runtime.now ?? Date.now,
      source: required(env, ENV.eventSource),
      retentionSeconds: Number(required(env, ENV.eventRetentionDays)) * 24 * 3600,
      concurrency: Number(env[ENV.emitterConcurrency] ?? DEFAULT_EMITTER_CONCURRENCY),
      fanOut: fanOutMode(env),
    });
    return async (event: unknown) => {
      try {
        return await emit(event);
      } finally {
        metrics.flush();
      }
    };
  };
}

/**
 * The stream mode's fan-out as lambdas/fan-out/handler.ts composes it, with the same hooks: pass
 * it as `handlers["fan-out"]` beside `emitterWithFaults`, so a suite's faults reach whichever
 * function posts in the mode the stack runs.
 */
export function fanOutWithFaults(faults: EmitterFaults): HandlerFactory {
  return (env, runtime) => {
    const { client, store, gateway, log, metrics } = faultyParts(env, faults, "fan-out");
    const fanOut = makeFanOut({
      store,
      runIndex: dynamoRunIndex(client, required(env, ENV.tableName)),
      postRun: makeRunUpdates({
        runsWatchers: dynamoRunsWatchers(client, required(env, ENV.tableName)),
        cacheMs: 2000,
        maxWatchers: 200,
        gateway,
        concurrency: DEFAULT_EMITTER_CONCURRENCY,
        log,
        metrics,
        now: runtime.now ?? Date.now,
      }),
      gateway,
      log,
      metrics,
      now: runtime.now ?? Date.now,
      concurrency: Number(env[ENV.emitterConcurrency] ?? DEFAULT_EMITTER_CONCURRENCY),
    });
    return async (event: { Records?: [] }) => {
      try {
        return await fanOut(event.Records ?? []);
      } finally {
        metrics.flush();
      }
    };
  };
}

/**
 * A DynamoDB outage for the commands a test names (e.g. "QueryCommand"): each such request fails
 * with HTTP 500 inside the SDK's retry loop, as the service fails, until the test clears the set.
 * Attach it through `emitterWithFaults({ dynamo: (client) => outage.attach(client) })`.
 */
export class DynamoOutage {
  readonly failing = new Set<string>();
  injected = 0;

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.failing.has(context.commandName ?? "")) {
          this.injected++;
          throw new InternalServerError({
            message: "Internal server error",
            $metadata: { httpStatusCode: 500 },
          });
        }
        return next(args);
      },
      { step: "deserialize", name: "injectDynamoOutage" },
    );
  }
}
