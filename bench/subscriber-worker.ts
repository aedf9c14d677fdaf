/**
 * The child process behind `SubscriberPool` (./subscriber-pool.ts): it holds the bench's subscriber
 * sockets, so parsing their frames runs on a core of its own instead of the local stack's event
 * loop, and answers the pool's questions with counts and arrival times. Times are absolute
 * (`performance.timeOrigin + performance.now()`), since each process's `performance.now()` starts
 * at a different origin.
 */
import { type BenchSocket, closeAll, openSockets, resumeAndSync } from "./sockets.js";

export type PoolRequest =
  | { readonly type: "open"; readonly id: number; readonly urls: readonly string[] }
  | { readonly type: "frames"; readonly id: number; readonly atLeast: number }
  | { readonly type: "event"; readonly id: number; readonly seq: number }
  /** Every socket resumes from `afterSeq` and follows the replay until its last `synced`. */
  | { readonly type: "resume"; readonly id: number; readonly afterSeq: number }
  /**
   * Every first receipt of the event frames of seqs 0 to `seqs` - 1, once there are `atLeast` of
   * them or `timeoutMs` has passed (whatever has arrived then).
   */
  | {
      readonly type: "receipts";
      readonly id: number;
      readonly seqs: number;
      readonly atLeast: number;
      readonly timeoutMs: number;
    }
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
  | {
      readonly type: "receipts";
      readonly id: number;
      /** Per seq, the absolute time each socket first received it. */
      readonly times: readonly (readonly number[])[];
      /** Frames of these seqs a socket received again. */
      readonly duplicates: number;
    }
  | { readonly type: "failed"; readonly id: number; readonly message: string };

interface EventTally {
  readonly sockets: Set<number>;
  /** First receipt times, one per socket, absolute. */
  readonly times: number[];
  lastAt: number;
  frameBytes: number;
  duplicates: number;
}

const send = process.send?.bind(process);
if (!send) throw new Error("subscriber-worker runs as a child process with IPC (new SubscriberPool())");
process.once("disconnect", () => process.exit(0));

const sockets: BenchSocket[] = [];
let frames = 0;
const events = new Map<number, EventTally>();
/** First receipts of event frames, all seqs together. */
let receipts = 0;
/** Questions not yet answered, checked after every frame. */
const waiting = new Set<() => boolean>();

const reply = (message: PoolReply) => send(message);

/** Counts one event frame's receipt by socket `index` (an `events` frame is one per event in it). */
function tallyEvent(seq: number, index: number, absolute: number, frameBytes: number): void {
  let tally = events.get(seq);
  if (!tally) {
    tally = { sockets: new Set(), times: [], lastAt: 0, frameBytes: 0, duplicates: 0 };
    events.set(seq, tally);
  }
  if (tally.sockets.has(index)) tally.duplicates++;
  else {
    tally.sockets.add(index);
    tally.times.push(absolute);
    receipts++;
  }
  tally.lastAt = Math.max(tally.lastAt, absolute);
  tally.frameBytes = frameBytes;
}

function listen(bench: BenchSocket, index: number): void {
  bench.listener = (frame, raw, at) => {
    frames++;
    const absolute = performance.timeOrigin + at;
    if (frame.type === "event" && typeof frame.seq === "number") {
      tallyEvent(frame.seq, index, absolute, Buffer.byteLength(raw));
    } else if (frame.type === "events" && Array.isArray(frame.events)) {
      const bytes = Buffer.byteLength(raw);
      for (const event of frame.events as { seq?: unknown }[])
        if (typeof event.seq === "number") tallyEvent(event.seq, index, absolute, bytes);
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
    case "resume":
      await Promise.all(sockets.map((bench) => resumeAndSync(bench, request.afterSeq)));
      for (const [index, bench] of sockets.entries()) listen(bench, index);
      reply({ type: "done", id: request.id, frames });
      return;
    case "receipts": {
      const answer = () => {
        const times: number[][] = [];
        let duplicates = 0;
        for (let seq = 0; seq < request.seqs; seq++) {
          const tally = events.get(seq);
          events.delete(seq);
          times.push(tally?.times ?? []);
          duplicates += tally?.duplicates ?? 0;
        }
        receipts = 0;
        reply({ type: "receipts", id: request.id, times, duplicates });
      };
      const timer = setTimeout(() => {
        waiting.delete(complete);
        answer();
      }, request.timeoutMs);
      const complete = () => {
        if (receipts < request.atLeast) return false;
        clearTimeout(timer);
        answer();
        return true;
      };
      whenTrue(complete);
      return;
    }
    case "close":
      await closeAll(sockets.splice(0));
      reply({ type: "done", id: request.id, frames });
      return;
  }
}

process.on("message", (request: PoolRequest) => {
  handle(request).catch((error: unknown) =>
    reply({
      type: "failed",
      id: request.id,
      message: error instanceof Error ? error.message : String(error),
    }),
  );
});
