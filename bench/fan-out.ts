/**
 * Fan-out: one event to N subscribers of one trace, in a table that also holds 10,000
 * subscriptions of 100 other traces. Ours is the real emitter core (store, consistent Query on the
 * trace's partition, posts at bounded concurrency through the real @connections emulator); the
 * baseline is the sample's Scan + unbounded Promise.all. Both post to the same N real `ws` sockets,
 * held in a child process (`SubscriberPool`) so that reading them does not slow the stack measured,
 * and an event counts as done when every socket has received it.
 */
import { randomBytes } from "node:crypto";
import { makeEmitter } from "../lambdas/emitter/emitter.js";
import { DEFAULT_EMITTER_CONCURRENCY } from "../lambdas/emitter/handler.js";
import { managementClient } from "../lambdas/shared/aws-clients.js";
import { dynamoRunIndex } from "../lambdas/shared/run-index.js";
import { dynamoRunsWatchers } from "../lambdas/shared/runs-watchers.js";
import { signedConnectionGateway } from "../lambdas/shared/signed-connection-gateway.js";
import { noMetrics } from "../lambdas/shared/telemetry.js";
import { dynamoTraceStore } from "../lambdas/shared/trace-store.js";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../lib/table-design.js";
import { DEFAULT_EVENT_RETENTION_DAYS, SUBSCRIPTION_TTL_SECONDS } from "../protocol/limits.js";
import { benchEvent, envelopeOf } from "./bench-events.js";
import { BASELINE_TABLE, type BenchStack, batchPut } from "./bench-stack.js";
import { type DynamoUsage, usageSince } from "./dynamo-meter.js";
import { makeSampleBroadcast } from "./sample-baseline.js";
import { median, percentile } from "./stats.js";
import { SubscriberPool } from "./subscriber-pool.js";

export interface FanOutOptions {
  readonly subscriberCounts: readonly number[];
  readonly otherTraces: number;
  readonly subscriptionsPerOtherTrace: number;
  /** Measured events per implementation and subscriber count (after one warm-up each). */
  readonly iterations: number;
}

export interface FanOutSide {
  /** Median ms from the call until the last of the N sockets received the event. */
  readonly msPerEvent: number;
  readonly p95MsPerEvent: number;
  /** Median ms the handler call itself took (what Lambda bills). */
  readonly handlerMs: number;
  readonly itemsReadPerEvent: number;
  readonly readUnitsPerEvent: number;
  readonly writeUnitsPerEvent: number;
  readonly dynamoRequestsPerEvent: number;
  readonly frameBytes: number;
}

export interface FanOutRow {
  readonly subscribers: number;
  readonly ours: FanOutSide;
  readonly baseline: FanOutSide;
  /** baseline / ours */
  readonly ratio: {
    readonly msPerEvent: number;
    readonly itemsReadPerEvent: number;
    readonly readUnits: number;
  };
}

export interface FanOutResult {
  readonly otherSubscriptions: number;
  readonly rows: FanOutRow[];
}

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

function fakeConnectionId(): string {
  return randomBytes(11).toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Subscriptions of other traces, in both tables, shaped as each design's connect writes them. */
async function seedOtherSubscriptions(bench: BenchStack, options: FanOutOptions): Promise<number> {
  const expiresAt = Math.floor(Date.now() / 1000) + SUBSCRIPTION_TTL_SECONDS;
  const ours: Record<string, unknown>[] = [];
  const baseline: Record<string, unknown>[] = [];
  for (let t = 0; t < options.otherTraces; t++) {
    const traceId = `bench-other-${t}`;
    for (let c = 0; c < options.subscriptionsPerOtherTrace; c++) {
      const connectionId = fakeConnectionId();
      const common = { trace_id: traceId, connection_id: connectionId, [TTL_ATTRIBUTE]: expiresAt };
      ours.push(
        { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: keys.trace(traceId), ...common },
        {
          [PARTITION_KEY]: keys.trace(traceId),
          [SORT_KEY]: keys.connection(connectionId),
          ...common,
          connected_at: new Date().toISOString(),
        },
      );
      baseline.push({ connectionId, traceId });
    }
  }
  await batchPut(bench.dynamo, bench.stack.tableName, ours);
  await batchPut(bench.dynamo, BASELINE_TABLE, baseline);
  return baseline.length;
}

export async function runFanOut(
  bench: BenchStack,
  options: FanOutOptions,
  progress: (line: string) => void,
): Promise<FanOutResult> {
  const { stack, meter } = bench;
  const otherSubscriptions = await seedOtherSubscriptions(bench, options);
  progress(`fan-out: seeded ${otherSubscriptions} subscriptions of ${options.otherTraces} other traces`);

  const emit = makeEmitter({
    store: dynamoTraceStore(bench.meteredDynamo, stack.tableName),
    runIndex: dynamoRunIndex(bench.meteredDynamo, stack.tableName),
    runsWatchers: dynamoRunsWatchers(bench.meteredDynamo, stack.tableName),
    runsWatchersCacheMs: 2000,
    maxRunsWatchers: 200,
    gateway: signedConnectionGateway({
      endpoint: stack.endpoints.managementEndpoint,
      client: managementClient(stack.endpoints.managementEndpoint, bench.env),
      sockets: DEFAULT_EMITTER_CONCURRENCY,
    }),
    deadLetters: {
      send: async (rejection) => {
        throw new Error(`bench event rejected: ${rejection.code}: ${rejection.reason}`);
      },
    },
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    source: stack.source,
    retentionSeconds: DEFAULT_EVENT_RETENTION_DAYS * 24 * 3600,
    concurrency: DEFAULT_EMITTER_CONCURRENCY,
  });
  const broadcast = makeSampleBroadcast({ dynamo: bench.meteredDynamo, management: bench.sampleManagement });

  const traceId = "bench-fan-out";
  const pool = new SubscriberPool();
  const inBaselineTable = new Set<string>();
  let nextSeq = 0;
  const rows: FanOutRow[] = [];

  try {
    for (const subscribers of options.subscriberCounts) {
      const more = subscribers - pool.size;
      await pool.open(await Promise.all(Array.from({ length: more }, () => bench.url(traceId))));
      // The baseline's onconnect would have written these; ours were written by the real $connect.
      const fresh = stack
        .connections()
        .filter((c) => c.authorizer?.traceId === traceId && !inBaselineTable.has(c.connectionId));
      await batchPut(
        bench.dynamo,
        BASELINE_TABLE,
        fresh.map((c) => ({ connectionId: c.connectionId, traceId })),
      );
      for (const c of fresh) inBaselineTable.add(c.connectionId);
      progress(`fan-out: ${pool.size} sockets connected to ${traceId}`);

      type Sample = { ms: number; handlerMs: number; usage: DynamoUsage; frameBytes: number };
      const samples = { ours: [] as Sample[], baseline: [] as Sample[] };

      const once = async (kind: "ours" | "baseline"): Promise<Sample> => {
        const event = benchEvent(traceId, nextSeq++);
        const receipt = pool.waitForEvent(event.seq);
        // Asked before the call, so no arrival is missed; if the call throws, its error is the one reported.
        receipt.catch(() => undefined);
        const before = meter.snapshot();
        const started = performance.now();
        if (kind === "ours") await emit(envelopeOf(event, stack.source));
        else await broadcast(event);
        const handlerDone = performance.now();
        const usage = usageSince(meter.snapshot(), before);
        const { lastAt, frameBytes, duplicates } = await receipt;
        if (duplicates > 0) progress(`fan-out ${kind}: ${duplicates} duplicate frames of seq ${event.seq}`);
        return {
          ms: Math.max(lastAt, handlerDone) - started,
          handlerMs: handlerDone - started,
          usage,
          frameBytes,
        };
      };

      await once("ours");
      await once("baseline");
      for (let i = 0; i < options.iterations; i++) {
        // Alternate who goes first, so neither always runs on a warmer process.
        const order: ("ours" | "baseline")[] = i % 2 === 0 ? ["ours", "baseline"] : ["baseline", "ours"];
        for (const kind of order) samples[kind].push(await once(kind));
      }

      const side = (list: Sample[]): FanOutSide => ({
        msPerEvent: median(list.map((s) => s.ms)),
        p95MsPerEvent: percentile(
          list.map((s) => s.ms),
          95,
        ),
        handlerMs: median(list.map((s) => s.handlerMs)),
        itemsReadPerEvent: median(list.map((s) => s.usage.itemsRead)),
        readUnitsPerEvent: median(list.map((s) => s.usage.readUnits)),
        writeUnitsPerEvent: median(list.map((s) => s.usage.writeUnits)),
        dynamoRequestsPerEvent: median(list.map((s) => s.usage.requests)),
        frameBytes: median(list.map((s) => s.frameBytes)),
      });
      const ours = side(samples.ours);
      const baseline = side(samples.baseline);
      rows.push({
        subscribers,
        ours,
        baseline,
        ratio: {
          msPerEvent: baseline.msPerEvent / ours.msPerEvent,
          itemsReadPerEvent: baseline.itemsReadPerEvent / ours.itemsReadPerEvent,
          readUnits: baseline.readUnitsPerEvent / ours.readUnitsPerEvent,
        },
      });
      progress(
        `fan-out N=${subscribers}: ours ${ours.msPerEvent.toFixed(1)} ms, baseline ${baseline.msPerEvent.toFixed(1)} ms`,
      );
    }
  } finally {
    await pool.close();
  }
  return { otherSubscriptions, rows };
}
