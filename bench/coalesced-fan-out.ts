import { DEFAULT_EMITTER_CONCURRENCY } from "../lambdas/emitter/handler.js";
import { makeFanOut } from "../lambdas/fan-out/fan-out.js";
import type { StreamRecord } from "../lambdas/fan-out/stream-records.js";
import { managementClient } from "../lambdas/shared/aws-clients.js";
import { dynamoRunIndex } from "../lambdas/shared/run-index.js";
import { signedConnectionGateway } from "../lambdas/shared/signed-connection-gateway.js";
import { noMetrics } from "../lambdas/shared/telemetry.js";
import { dynamoTraceStore } from "../lambdas/shared/trace-store.js";
import { keys } from "../lib/table-design.js";
import type { TraceEvent } from "../protocol/index.js";
import { DEFAULT_EVENT_RETENTION_DAYS } from "../protocol/limits.js";
import { benchEvent, envelopeOf } from "./bench-events.js";
import type { BenchStack } from "./bench-stack.js";
import type { ModeMeasurements } from "./cost-model.js";
import { usageSince } from "./dynamo-meter.js";
import { type BenchSocket, closeAll, openSockets } from "./sockets.js";
import { median, until } from "./stats.js";

export interface CoalescedOptions {
  readonly viewers: readonly number[];
  /** Events of the trace per fan-out batch. */
  readonly eventsPerBatch: number;
  /** Measured batches per viewer count (after one warm-up); as many direct events as their events. */
  readonly iterations: number;
}

export interface CoalescedRow extends ModeMeasurements {
  /** Median ms until every viewer held the batch's events: direct (events one by one) and coalesced. */
  readonly msPerBatch: { readonly direct: number; readonly coalesced: number };
}

import { benchEmitter, silentLog } from "./bench-emitter.js";

export async function runCoalescedFanOut(
  bench: BenchStack,
  options: CoalescedOptions,
  progress: (line: string) => void,
): Promise<CoalescedRow[]> {
  const { stack, meter } = bench;
  const gateway = signedConnectionGateway({
    endpoint: stack.endpoints.managementEndpoint,
    client: managementClient(stack.endpoints.managementEndpoint, bench.env),
    sockets: DEFAULT_EMITTER_CONCURRENCY,
  });
  const emitterIn = (fanOut: "direct" | "stream") =>
    benchEmitter(bench.meteredDynamo, stack.tableName, stack.source, {
      gateway,
      fanOut,
      // Nobody watches the runs list here; bench/run-index-cost.ts prices it.
      runsWatchers: { list: async () => [], prune: async () => false },
    });
  const direct = emitterIn("direct");
  const storing = emitterIn("stream");
  const fanOut = makeFanOut({
    store: dynamoTraceStore(bench.meteredDynamo, stack.tableName),
    runIndex: dynamoRunIndex(bench.meteredDynamo, stack.tableName),
    postRun: async () => undefined,
    gateway,
    log: silentLog,
    metrics: noMetrics,
    now: Date.now,
    concurrency: DEFAULT_EMITTER_CONCURRENCY,
  });

  const rows: CoalescedRow[] = [];
  let sequence = 1;
  const expiresAt = Math.floor(Date.now() / 1000) + DEFAULT_EVENT_RETENTION_DAYS * 24 * 3600;
  const recordOf = (event: TraceEvent): StreamRecord => ({
    eventName: "INSERT",
    dynamodb: {
      SequenceNumber: String(sequence++).padStart(21, "0"),
      Keys: { pk: { S: keys.trace(event.trace_id) }, sk: { S: keys.event(event.seq) } },
      NewImage: { payload: { S: JSON.stringify(event) }, expires_at: { N: String(expiresAt) } },
    },
  });

  for (const viewers of options.viewers) {
    const traceId = `bench-coalesced-${viewers}`;
    const sockets: BenchSocket[] = await openSockets(() => bench.url(traceId), viewers);
    let nextSeq = 0;
    try {
      const received = new Map<BenchSocket, { seqs: Set<number>; frames: number; bytes: number }>();
      const listen = () => {
        for (const socket of sockets) {
          const seen = { seqs: new Set<number>(), frames: 0, bytes: 0 };
          received.set(socket, seen);
          socket.listener = (frame, raw) => {
            if (frame.type === "event") seen.seqs.add(frame.seq as number);
            else if (frame.type === "events")
              for (const e of frame.events as TraceEvent[]) seen.seqs.add(e.seq);
            else return;
            seen.frames++;
            seen.bytes += Buffer.byteLength(raw);
          };
        }
      };
      const allHold = (count: number) => [...received.values()].every((seen) => seen.seqs.size >= count);

      const directBatch = async () => {
        listen();
        const events = Array.from({ length: options.eventsPerBatch }, () => benchEvent(traceId, nextSeq++));
        const before = meter.snapshot();
        const started = performance.now();
        const handlerMs: number[] = [];
        for (const event of events) {
          const at = performance.now();
          await direct(envelopeOf(event, stack.source));
          handlerMs.push(performance.now() - at);
        }
        await until(() => allHold(events.length), `direct: ${viewers} viewers hold ${events.length} events`);
        const usage = usageSince(meter.snapshot(), before);
        const first = [...received.values()][0];
        return {
          ms: performance.now() - started,
          handlerMs: median(handlerMs),
          readUnits: usage.readUnits / events.length,
          writeUnits: usage.writeUnits / events.length,
          frameBytes: (first?.bytes ?? 0) / Math.max(1, first?.frames ?? 1),
        };
      };

      const coalescedBatch = async () => {
        listen();
        const events = Array.from({ length: options.eventsPerBatch }, () => benchEvent(traceId, nextSeq++));
        const storeBefore = meter.snapshot();
        const started = performance.now();
        const storeMs: number[] = [];
        for (const event of events) {
          const at = performance.now();
          await storing(envelopeOf(event, stack.source));
          storeMs.push(performance.now() - at);
        }
        const stored = usageSince(meter.snapshot(), storeBefore);
        const fanOutBefore = meter.snapshot();
        const fanOutAt = performance.now();
        const answer = await fanOut(events.map(recordOf));
        const fanOutMs = performance.now() - fanOutAt;
        if (answer.batchItemFailures.length > 0) throw new Error("the bench batch failed");
        const read = usageSince(meter.snapshot(), fanOutBefore);
        // The fan-out's writes (the run summary, once a batch) count with the events' writes.
        await until(
          () => allHold(events.length),
          `coalesced: ${viewers} viewers hold ${events.length} events`,
        );
        const first = [...received.values()][0];
        return {
          ms: performance.now() - started,
          emitterHandlerMs: median(storeMs),
          writeUnits: (stored.writeUnits + read.writeUnits) / events.length,
          fanOutMs,
          readUnits: read.readUnits,
          frames: first?.frames ?? 0,
          bytes: first?.bytes ?? 0,
        };
      };

      await directBatch();
      await coalescedBatch();
      const d: Awaited<ReturnType<typeof directBatch>>[] = [];
      const c: Awaited<ReturnType<typeof coalescedBatch>>[] = [];
      for (let i = 0; i < options.iterations; i++) {
        d.push(await directBatch());
        c.push(await coalescedBatch());
      }
      const row: CoalescedRow = {
        viewers,
        direct: {
          handlerMs: median(d.map((s) => s.handlerMs)),
          readUnitsPerEvent: median(d.map((s) => s.readUnits)),
          writeUnitsPerEvent: median(d.map((s) => s.writeUnits)),
          frameBytes: median(d.map((s) => s.frameBytes)),
        },
        coalesced: {
          emitterHandlerMs: median(c.map((s) => s.emitterHandlerMs)),
          writeUnitsPerEvent: median(c.map((s) => s.writeUnits)),
          eventsPerBatch: options.eventsPerBatch,
          fanOutHandlerMsPerBatch: median(c.map((s) => s.fanOutMs)),
          readUnitsPerBatch: median(c.map((s) => s.readUnits)),
          framesPerViewerPerBatch: median(c.map((s) => s.frames)),
          frameBytesPerBatch: median(c.map((s) => s.bytes)),
        },
        msPerBatch: { direct: median(d.map((s) => s.ms)), coalesced: median(c.map((s) => s.ms)) },
      };
      rows.push(row);
      progress(
        `coalesced fan-out, ${viewers} viewer(s), ${options.eventsPerBatch} events a batch: direct ${row.msPerBatch.direct.toFixed(0)} ms, coalesced ${row.msPerBatch.coalesced.toFixed(0)} ms`,
      );
    } finally {
      for (const socket of sockets) socket.listener = undefined;
      await closeAll(sockets);
    }
  }
  return rows;
}
