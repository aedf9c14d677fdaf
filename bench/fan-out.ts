/**
 * Fan-out: one event to N subscribers of one trace, in a table that also holds 10,000
 * subscriptions of 100 other traces. Ours is the real emitter core (store, consistent Query on the
 * trace's partition, posts at bounded concurrency through the real @connections emulator); the
 * baseline is the sample's Scan + unbounded Promise.all. Both run in a process of their own
 * (./fan-out-invoker.ts), as a Lambda function runs apart from API Gateway, and post to the same N
 * real `ws` sockets, held in another (`SubscriberPool`) so that reading them does not slow the stack
 * measured; an event counts as done when every socket has received it.
 */
import { randomBytes } from "node:crypto";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../lib/table-design.js";
import { SUBSCRIPTION_TTL_SECONDS } from "../protocol/limits.js";
import { BASELINE_TABLE, BENCH_CREDENTIALS, type BenchStack, batchPut } from "./bench-stack.js";
import { startClientProcess } from "./client-process.js";
import type { DynamoUsage } from "./dynamo-meter.js";
import type { InvokerReply, InvokerRequest } from "./fan-out-invoker.js";
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
  /** The SDK's "socket usage at capacity" warnings in the invoker (the sample's unbounded Promise.all). */
  readonly socketQueueWarnings?: number;
}

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
  const { stack } = bench;
  const otherSubscriptions = await seedOtherSubscriptions(bench, options);
  progress(`fan-out: seeded ${otherSubscriptions} subscriptions of ${options.otherTraces} other traces`);

  const invoker = new Invoker();
  await invoker.ask({
    type: "setup",
    setup: {
      dynamodbEndpoint: stack.endpoints.dynamodb,
      managementEndpoint: stack.endpoints.managementEndpoint,
      region: stack.region,
      credentials: BENCH_CREDENTIALS,
      tableName: stack.tableName,
      source: stack.source,
    },
  });

  const traceId = "bench-fan-out";
  const pool = new SubscriberPool();
  const inBaselineTable = new Set<string>();
  let nextSeq = 0;
  let socketQueueWarnings = 0;
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
        const seq = nextSeq++;
        const receipt = pool.waitForEvent(seq);
        // Asked before the call, so no arrival is missed; if the call throws, its error is the one reported.
        receipt.catch(() => undefined);
        const reply = await invoker.ask({ type: "emit", kind, traceId, seq });
        if (reply.type !== "emitted") throw new Error("fan-out invoker: unexpected reply");
        socketQueueWarnings = reply.socketQueueWarnings;
        const started = reply.startedAt - performance.timeOrigin;
        const handlerDone = reply.handlerDoneAt - performance.timeOrigin;
        const { lastAt, frameBytes, duplicates } = await receipt;
        if (duplicates > 0) progress(`fan-out ${kind}: ${duplicates} duplicate frames of seq ${seq}`);
        return {
          ms: Math.max(lastAt, handlerDone) - started,
          handlerMs: handlerDone - started,
          usage: reply.usage,
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
    invoker.close();
  }
  return { otherSubscriptions, rows, socketQueueWarnings };
}

/** The invoker process: one request at a time, each answered before the next is sent. */
class Invoker {
  private readonly child = startClientProcess(new URL("./fan-out-invoker.ts", import.meta.url));
  private waiting: { resolve(reply: InvokerReply): void; reject(error: Error): void } | undefined;

  constructor() {
    this.child.on("message", (reply: InvokerReply) => {
      const waiter = this.waiting;
      this.waiting = undefined;
      if (reply.type === "failed") waiter?.reject(new Error(`fan-out invoker: ${reply.message}`));
      else waiter?.resolve(reply);
    });
    this.child.once("exit", (code: number | null) =>
      this.waiting?.reject(new Error(`fan-out invoker exited (${code})`)),
    );
  }

  ask(request: InvokerRequest): Promise<InvokerReply> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(request);
    });
  }

  close(): void {
    this.child.kill();
  }
}
