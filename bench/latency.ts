/**
 * End-to-end latency on the full local stack: PutEvents (official SDK) → EventBridge emulator →
 * emitter Lambda (real handler) → @connections → 50 real `ws` subscribers. Events are put one per
 * call on an open-loop schedule at the target rate; latency is receipt time minus the moment the
 * PutEvents call started, for every (subscriber, event) pair.
 */
import { readdirSync, readFileSync } from "node:fs";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { benchEvent } from "./bench-events.js";
import type { BenchStack } from "./bench-stack.js";
import { type BenchSocket, closeAll, openSockets, resumeAndSync } from "./sockets.js";
import { percentile, sleep, until } from "./stats.js";

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
}

export async function runLatency(
  bench: BenchStack,
  options: LatencyOptions,
  progress: (line: string) => void,
): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const { rate, seconds } of options.runs) {
    const traceId = `bench-latency-${rate}-${seconds}`;
    const sockets: BenchSocket[] = await openSockets(() => bench.url(traceId), options.subscribers);
    try {
      await Promise.all(sockets.map((socket) => resumeAndSync(socket, -1)));
      rows.push(await measure(bench, traceId, sockets, rate, seconds));
      const row = rows.at(-1)!;
      progress(`latency ${rate}/s: p50 ${row.p50Ms.toFixed(1)} ms, p99 ${row.p99Ms.toFixed(1)} ms`);
    } finally {
      await closeAll(sockets);
    }
    await bench.stack.deliveriesIdle();
  }
  return rows;
}

async function measure(
  bench: BenchStack,
  traceId: string,
  sockets: readonly BenchSocket[],
  rate: number,
  seconds: number,
): Promise<LatencyRow> {
  const count = Math.round(rate * seconds);
  const failureRecordsBefore = bench.stack.emitterFailures().length;
  const sentAt: number[] = [];
  const latencies: number[] = [];
  let putFailures = 0;
  let duplicates = 0;
  let lastReceipt = 0;
  for (const socket of sockets) {
    const seen = new Set<number>();
    socket.listener = (frame, _raw, at) => {
      if (frame.type !== "event") return;
      const seq = Number(frame.seq);
      const started = sentAt[seq];
      if (started === undefined) return;
      if (seen.has(seq)) duplicates++;
      else {
        seen.add(seq);
        latencies.push(at - started);
        lastReceipt = Math.max(lastReceipt, at);
      }
    };
  }
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  for (let seq = 0; seq < count; seq++) {
    const due = start + (seq * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const event = benchEvent(traceId, seq);
    sentAt[seq] = performance.now();
    const put = bench.eventBridge
      .send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: bench.stack.busName,
              Source: bench.stack.source,
              DetailType: event.event,
              Detail: JSON.stringify(event),
            },
          ],
        }),
      )
      .then((output) => {
        if (output.FailedEntryCount) putFailures++;
      })
      .catch(() => {
        putFailures++;
      })
      .finally(() => inFlight.delete(put));
    inFlight.add(put);
  }
  const achievedRate = count / ((performance.now() - start) / 1000);
  await Promise.all([...inFlight]);
  const expected = count * sockets.length;
  await until(() => latencies.length >= expected, "every subscriber to receive every event", 120_000).catch(
    () => undefined,
  );
  await bench.stack.deliveriesIdle();
  for (const socket of sockets) socket.listener = undefined;
  return {
    targetRate: rate,
    achievedRate,
    events: count,
    subscribers: sockets.length,
    samples: latencies.length,
    offeredDeliveriesPerSecond: rate * sockets.length,
    deliveredPerSecond: latencies.length / ((lastReceipt - start) / 1000),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    lost: Math.max(0, expected - latencies.length),
    duplicateFrames: duplicates,
    putFailures,
    failureRecords: bench.stack.emitterFailures().length - failureRecordsBefore,
    rssMbAtEnd: processTreeRssMb(),
  };
}

/** RSS of this process and its direct children (Linux /proc; this process alone elsewhere), in MB. */
export function processTreeRssMb(): number {
  let bytes = process.memoryUsage().rss;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, "utf8");
        if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
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
