/**
 * End-to-end latency on the full local stack: PutEvents (official SDK) → EventBridge emulator →
 * emitter Lambda (real handler) → @connections → 50 real `ws` subscribers. Events are put one per
 * call on an open-loop schedule at the target rate; latency is receipt time minus the moment the
 * PutEvents call started, for every (subscriber, event) pair. The producer and the subscribers
 * are clients, so they run on worker threads (./producer-worker.ts, `SubscriberPool`): building
 * 200 SDK requests and parsing 10,000 frames a second does not take CPU from the stack being
 * timed. Their times are absolute, so they compare across threads.
 */
import { readdirSync, readFileSync } from "node:fs";
import { BENCH_CREDENTIALS, type BenchStack } from "./bench-stack.js";
import { clientPids, startClientProcess, trackClient } from "./client-process.js";
import type { ProducerJob, ProducerResult } from "./producer-worker.js";
import { percentile } from "./stats.js";
import { SubscriberPool } from "./subscriber-pool.js";

export interface LatencyRun {
  /** Events put per second. */
  readonly rate: number;
  /** How long events are put at that rate. */
  readonly seconds: number;
}

export interface LatencyOptions {
  readonly runs: readonly LatencyRun[];
  readonly subscribers: number;
}

export interface LatencyRow {
  /** The stack's fan-out mode: "direct" (the emitter posts each event) or "stream" (coalesced). */
  readonly fanOut?: "direct" | "stream";
  readonly targetRate: number;
  /** Events put per second, as achieved by the schedule. */
  readonly achievedRate: number;
  readonly events: number;
  readonly subscribers: number;
  readonly samples: number;
  /** Deliveries per second the rate asks for (rate × subscribers). */
  readonly offeredDeliveriesPerSecond: number;
  /** Deliveries per second achieved: all receipts over the time from the first put to the last receipt. */
  readonly deliveredPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** (subscriber, event) pairs never received; must be 0. */
  readonly lost: number;
  /** Frames received again (at-least-once delivery; a client drops them). */
  readonly duplicateFrames: number;
  readonly putFailures: number;
  /**
   * Lambda failure records the row left in the emitter's on-failure queue (invocations that kept
   * failing or timing out). Every event arrived, so any here would be false: must be 0.
   */
  readonly failureRecords?: number;
  /**
   * Resident set size once the row is over: this process (stack, handlers, clients) plus its child
   * processes (dynalite) where /proc shows them.
   */
  readonly rssMbAtEnd: number;
  /**
   * The keep-alive POST relay floor (./data-plane.ts), held just before and just after this row:
   * the host's speed drifts by tens of percent over minutes, so a row is compared with the floor
   * measured around it rather than with one measured minutes earlier.
   */
  readonly relayFloor?: { readonly before: number; readonly after: number };
}

export async function runLatency(
  bench: BenchStack,
  options: LatencyOptions,
  progress: (line: string) => void,
): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const { rate, seconds } of options.runs) {
    const traceId = `bench-latency-${rate}-${seconds}`;
    const pool = new SubscriberPool();
    try {
      await pool.open(
        await Promise.all(Array.from({ length: options.subscribers }, () => bench.url(traceId))),
      );
      await pool.resume(-1);
      rows.push(await measure(bench, traceId, pool, rate, seconds));
      const row = rows.at(-1)!;
      progress(`latency ${rate}/s: p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms`);
    } finally {
      await pool.close();
    }
    await bench.stack.deliveriesIdle();
  }
  return rows;
}

async function measure(
  bench: BenchStack,
  traceId: string,
  pool: SubscriberPool,
  rate: number,
  seconds: number,
): Promise<LatencyRow> {
  const count = Math.round(rate * seconds);
  const failureRecordsBefore = bench.stack.emitterFailures().length;
  const { sentAt, startedAt, achievedRate, putFailures } = await produce({
    endpoint: bench.stack.endpoints.eventBridge,
    region: bench.stack.region,
    credentials: BENCH_CREDENTIALS,
    busName: bench.stack.busName,
    source: bench.stack.source,
    traceId,
    rate,
    count,
  });
  const start = startedAt - performance.timeOrigin;
  const expected = count * pool.size;
  const receipts = await pool.receipts(count, expected, 120_000);
  await bench.stack.deliveriesIdle();
  const latencies: number[] = [];
  let lastReceipt = 0;
  for (const [seq, times] of receipts.times.entries()) {
    for (const at of times) {
      latencies.push(at - ((sentAt[seq] as number) - performance.timeOrigin));
      lastReceipt = Math.max(lastReceipt, at);
    }
  }
  return {
    fanOut: bench.stack.fanOut,
    targetRate: rate,
    achievedRate,
    events: count,
    subscribers: pool.size,
    samples: latencies.length,
    offeredDeliveriesPerSecond: rate * pool.size,
    deliveredPerSecond: latencies.length / ((lastReceipt - start) / 1000),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    lost: Math.max(0, expected - latencies.length),
    duplicateFrames: receipts.duplicates,
    putFailures,
    failureRecords: bench.stack.emitterFailures().length - failureRecordsBefore,
    rssMbAtEnd: processTreeRssMb(),
  };
}

/** Runs the producer in its own process until every put has answered. */
function produce(job: ProducerJob): Promise<ProducerResult> {
  const child = trackClient(startClientProcess(new URL("./producer-worker.ts", import.meta.url)));
  return new Promise<ProducerResult>((resolve, reject) => {
    child.once(
      "message",
      (message: { ok: true; result: ProducerResult } | { ok: false; message: string }) => {
        if (message.ok) resolve(message.result);
        else reject(new Error(`producer: ${message.message}`));
      },
    );
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`producer exited (${code}) before it answered`)));
    child.send(job);
  }).finally(() => child.kill());
}

/**
 * RSS of this process and its direct children (Linux /proc; this process alone elsewhere), in MB:
 * the stack and dynalite, without the bench's client processes (subscribers, producer).
 */
export function processTreeRssMb(): number {
  let bytes = process.memoryUsage().rss;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, "utf8");
        if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid || clientPids.has(Number(entry)))
          continue;
        bytes += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      } catch {
        // The process ended while it was read.
      }
    }
  } catch {
    // No /proc: this process alone.
  }
  return bytes / 2 ** 20;
}
