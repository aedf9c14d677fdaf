/**
 * Watching traces with the real subscriber client on a local stack, and comparing what each
 * client showed with what the producer emitted. Shared by the soak, fault and security suites.
 */
import { isDeepStrictEqual } from "node:util";
import WebSocket from "ws";
import { TraceStreamClient, type TraceStreamClientOptions } from "../../client/trace-stream-client.js";
import type { ReceivedTraceEvent, TraceEvent } from "../../protocol/trace-event.js";
import { type TestClock, type TestStack, traceEvent } from "../helpers/local-stack.js";

/** A client and, in the order its `event` listener was told, every event it showed. */
export interface Watcher {
  readonly client: TraceStreamClient;
  readonly traceId: string;
  readonly shown: ReceivedTraceEvent[];
}

export function watchTrace(
  stack: TestStack,
  traceId: string,
  overrides: Partial<TraceStreamClientOptions> = {},
): Watcher {
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
    reconnect: { initialDelayMs: 20, maxDelayMs: 250 },
    ...overrides,
  });
  const shown: ReceivedTraceEvent[] = [];
  client.on("event", (event) => shown.push(event));
  return { client, traceId, shown };
}

/** The trace ended and nothing is missing: the client has shown all it will show. */
export function isComplete(watcher: Watcher): boolean {
  const snapshot = watcher.client.getSnapshot();
  return snapshot.status === "ended" && snapshot.missing.length === 0;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `test` every `everyMs` until it holds; fails with `what` after `timeoutMs`. No timing is asserted. */
export async function eventually(
  test: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms for ${what}`);
    await pause(everyMs);
  }
}

/** What a client showed against what the producer emitted. */
export interface DeliveryReport {
  /** Produced seqs the client never showed. */
  readonly lost: number;
  /** Events shown more than once. */
  readonly duplicated: number;
  /** Shown events that differ from the produced event with the same seq. */
  readonly altered: number;
  /** Snapshot events (seq order) equal the produced sequence. */
  readonly sequenceEqual: boolean;
}

export function compareDelivery(watcher: Watcher, produced: readonly TraceEvent[]): DeliveryReport {
  const bySeq = new Map(produced.map((event) => [event.seq, event]));
  const seen = new Set<number>();
  let duplicated = 0;
  let altered = 0;
  for (const event of watcher.shown) {
    if (seen.has(event.seq)) duplicated++;
    seen.add(event.seq);
    if (!isDeepStrictEqual(bySeq.get(event.seq), event)) altered++;
  }
  const lost = produced.filter((event) => !seen.has(event.seq)).length;
  const snapshotEvents = watcher.client.getSnapshot().events;
  return {
    lost,
    duplicated,
    altered,
    sequenceEqual: isDeepStrictEqual(snapshotEvents, produced),
  };
}

/** Sums reports; `perClient` keeps the first few non-clean ones for the failure message. */
export function summarize(reports: readonly (DeliveryReport & { traceId: string })[]) {
  return {
    clients: reports.length,
    lost: reports.reduce((sum, r) => sum + r.lost, 0),
    duplicated: reports.reduce((sum, r) => sum + r.duplicated, 0),
    altered: reports.reduce((sum, r) => sum + r.altered, 0),
    sequencesNotEqual: reports.filter((r) => !r.sequenceEqual).length,
    firstProblems: reports
      .filter((r) => r.lost + r.duplicated + r.altered > 0 || !r.sequenceEqual)
      .slice(0, 3),
  };
}

/** A run of `count` events whose last one is the terminal `plan_completed`. */
export function terminatedRun(traceId: string, count: number): TraceEvent[] {
  return Array.from({ length: count }, (_, seq) =>
    seq === count - 1
      ? traceEvent(traceId, seq, {
          event: "plan_completed",
          status: "success",
          metadata: { duration_ms: 5, steps_completed: count - 1 },
        })
      : traceEvent(traceId, seq),
  );
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The wall clock as a TestClock, for stacks whose handlers must see time pass (it cannot be moved). */
export function realClock(): TestClock {
  const fixed = () => {
    throw new Error("the real clock cannot be moved");
  };
  return { now: () => Date.now(), advance: fixed, set: fixed };
}
