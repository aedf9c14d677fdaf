import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type EmitterDeps, makeEmitter } from "../lambdas/emitter/emitter.js";
import { DEFAULT_EMITTER_CONCURRENCY } from "../lambdas/emitter/handler.js";
import { dynamoRunIndex } from "../lambdas/shared/run-index.js";
import { dynamoRunsWatchers } from "../lambdas/shared/runs-watchers.js";
import { noMetrics } from "../lambdas/shared/telemetry.js";
import { dynamoTraceStore } from "../lambdas/shared/trace-store.js";
import { DEFAULT_EVENT_RETENTION_DAYS } from "../protocol/limits.js";

export const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The emitter core as the bench runs it: the real store, run index and runs watchers on `dynamo`,
 * the deployed defaults (concurrency, retention), silent telemetry, and a rejected event thrown
 * (a bench event is never invalid). `overrides` swap a part (the gateway, telemetry, fan-out mode).
 */
export function benchEmitter(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  source: string,
  overrides: Pick<EmitterDeps, "gateway"> & Partial<EmitterDeps>,
) {
  return makeEmitter({
    store: dynamoTraceStore(dynamo, tableName),
    runIndex: dynamoRunIndex(dynamo, tableName),
    runsWatchers: dynamoRunsWatchers(dynamo, tableName),
    runsWatchersCacheMs: 2000,
    maxRunsWatchers: 200,
    deadLetters: {
      send: async (rejection) => {
        throw new Error(`bench event rejected: ${rejection.code}: ${rejection.reason}`);
      },
    },
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    source,
    retentionSeconds: DEFAULT_EVENT_RETENTION_DAYS * 24 * 3600,
    concurrency: DEFAULT_EMITTER_CONCURRENCY,
    ...overrides,
  });
}
