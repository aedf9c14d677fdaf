/**
 * The worker thread behind `SubscriberPool` (./subscriber-pool.ts): it holds the bench's subscriber
 * sockets, so parsing their frames runs on a core of its own instead of the local stack's event
 * loop, and answers the pool's questions with counts and arrival times. Times are absolute
 * (`performance.timeOrigin + performance.now()`), since each thread's `performance.now()` starts
 * at a different origin.
 */
import { parentPort } from "node:worker_threads";
import { type BenchSocket, closeAll, openSockets } from "./sockets.js";

export type PoolRequest =
  | { readonly type: "open"; readonly id: number; readonly urls: readonly string[] }
  | { readonly type: "frames"; readonly id: number; readonly atLeast: number }
  | { readonly type: "event"; readonly id: number; readonly seq: number }
  | { readonly type: "close"; readonly id: number };

export type PoolReply =
  | { readonly type: "done"; readonly id: number; readonly frames: number }
  | {
      readonly type: "event";
      readonly id: number;
      /** When the last socket received the event. */
      readonly lastAt: number;
      readonly frameBytes: number;
      /** Frames of this seq a socket received again. */
      readonly duplicates: number;
    }
  | { readonly type: "failed"; readonly id: number; readonly message: string };

interface EventTally {
  readonly sockets: Set<number>;
  lastAt: number;
  frameBytes: number;
  duplicates: number;
}

const port = parentPort;
if (!port) throw new Error("subscriber-worker runs as a worker thread (new SubscriberPool())");

const sockets: BenchSocket[] = [];
let frames = 0;
const events = new Map<number, EventTally>();
/** Questions not yet answered, checked after every frame. */
const waiting = new Set<() => boolean>();

const reply = (message: PoolReply) => port.postMessage(message);

function listen(bench: BenchSocket, index: number): void {
  bench.listener = (frame, raw, at) => {
    frames++;
    if (frame.type === "event" && typeof frame.seq === "number") {
      let tally = events.get(frame.seq);
      if (!tally) {
        tally = { sockets: new Set(), lastAt: 0, frameBytes: 0, duplicates: 0 };
        events.set(frame.seq, tally);
      }
      if (tally.sockets.has(index)) tally.duplicates++;
      tally.sockets.add(index);
      tally.lastAt = Math.max(tally.lastAt, performance.timeOrigin + at);
      tally.frameBytes = Buffer.byteLength(raw);
    }
    for (const answered of waiting) if (answered()) waiting.delete(answered);
  };
}

function whenTrue(answered: () => boolean): void {
  if (!answered()) waiting.add(answered);
}

async function handle(request: PoolRequest): Promise<void> {
  switch (request.type) {
    case "open": {
      let next = 0;
      const opened = await openSockets(async () => request.urls[next++] as string, request.urls.length);
      for (const bench of opened) listen(bench, sockets.push(bench) - 1);
      reply({ type: "done", id: request.id, frames });
      return;
    }
    case "frames":
      whenTrue(() => {
        if (frames < request.atLeast) return false;
        reply({ type: "done", id: request.id, frames });
        return true;
      });
      return;
    case "event":
      whenTrue(() => {
        const tally = events.get(request.seq);
        if (!tally || tally.sockets.size < sockets.length) return false;
        events.delete(request.seq);
        const { lastAt, frameBytes, duplicates } = tally;
        reply({ type: "event", id: request.id, lastAt, frameBytes, duplicates });
        return true;
      });
      return;
    case "close":
      await closeAll(sockets.splice(0));
      reply({ type: "done", id: request.id, frames });
      return;
  }
}

port.on("message", (request: PoolRequest) => {
  handle(request).catch((error: unknown) =>
    reply({
      type: "failed",
      id: request.id,
      message: error instanceof Error ? error.message : String(error),
    }),
  );
});
