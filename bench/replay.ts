/**
 * Replay: a late joiner catching up on a long trace over the full local stack. The events are
 * stored with the product's own store adapter (the emitter's write), then a real `ws` client
 * connects and sends `resume` with afterSeq -1; the real resume Lambda pages the table and posts
 * `events` frames through @connections until `synced`.
 */
import { dynamoTraceStore } from "../lambdas/shared/trace-store.js";
import { DEFAULT_EVENT_RETENTION_DAYS } from "../protocol/limits.js";
import { benchEvent } from "./bench-events.js";
import type { BenchStack } from "./bench-stack.js";
import { usageSince } from "./dynamo-meter.js";
import { openSocket, resumeAndSync } from "./sockets.js";
import { median } from "./stats.js";

export interface ReplayOptions {
  readonly events: number;
  readonly iterations: number;
}

export interface ReplayResult {
  readonly events: number;
  readonly iterations: number;
  /** Median ms from sending `resume` to receiving `synced`. */
  readonly ms: number;
  readonly eventsPerSecond: number;
  readonly frames: number;
  readonly eventsPerFrame: number;
  readonly meanBytesPerFrame: number;
  readonly maxBytesPerFrame: number;
  /** API Gateway bills messages in 32 KB units: the units these frames cost. */
  readonly messageUnits: number;
  /** The units if every event were sent as its own message (as live delivery does). */
  readonly messageUnitsOnePerEvent: number;
  /** Read units of the consistent Query that reads the history (measured with the same adapter). */
  readonly readUnits: number;
  /** The events received equal the events stored, in seq order, each once. */
  readonly complete: boolean;
}

const METER_UNIT = 32 * 1024;

export async function runReplay(
  bench: BenchStack,
  options: ReplayOptions,
  progress: (line: string) => void,
): Promise<ReplayResult> {
  const traceId = `bench-replay-${options.events}`;
  const store = dynamoTraceStore(bench.dynamo, bench.stack.tableName);
  const expiresAt = Math.floor(Date.now() / 1000) + DEFAULT_EVENT_RETENTION_DAYS * 24 * 3600;
  let next = 0;
  let onePerEvent = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < options.events) {
        const event = benchEvent(traceId, next++);
        onePerEvent += Math.ceil(Buffer.byteLength(JSON.stringify({ type: "event", ...event })) / METER_UNIT);
        await store.putEvent(event, expiresAt);
      }
    }),
  );
  progress(`replay: stored ${options.events} events`);

  const before = bench.meter.snapshot();
  for await (const _page of dynamoTraceStore(bench.meteredDynamo, bench.stack.tableName).eventsAfter(
    traceId,
    -1,
  )) {
    // Reading every page is the measurement.
  }
  const readUnits = usageSince(bench.meter.snapshot(), before).readUnits;

  const times: number[] = [];
  let frameSizes: number[] = [];
  let complete = true;
  for (let i = 0; i < options.iterations; i++) {
    const socket = await openSocket(await bench.url(traceId));
    const sizes: number[] = [];
    const seqs: number[] = [];
    const started = performance.now();
    const synced = await resumeAndSync(socket, -1, (frame, raw) => {
      if (frame.type !== "events") return;
      sizes.push(Buffer.byteLength(raw));
      for (const event of frame.events as { seq: number }[]) seqs.push(event.seq);
    });
    times.push(synced.at - started);
    await socket.close();
    frameSizes = sizes;
    complete &&= seqs.length === options.events && seqs.every((seq, index) => seq === index);
    progress(
      `replay ${i + 1}/${options.iterations}: ${(synced.at - started).toFixed(0)} ms, ${sizes.length} frames`,
    );
  }
  const ms = median(times);
  const totalBytes = frameSizes.reduce((sum, size) => sum + size, 0);
  return {
    events: options.events,
    iterations: options.iterations,
    ms,
    eventsPerSecond: options.events / (ms / 1000),
    frames: frameSizes.length,
    eventsPerFrame: options.events / frameSizes.length,
    meanBytesPerFrame: totalBytes / frameSizes.length,
    maxBytesPerFrame: Math.max(...frameSizes),
    messageUnits: frameSizes.reduce((sum, size) => sum + Math.ceil(size / METER_UNIT), 0),
    messageUnitsOnePerEvent: onePerEvent,
    readUnits,
    complete,
  };
}
