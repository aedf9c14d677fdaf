/**
 * Subscriber sockets held in a child process (./client-process.ts), so the measured stack is not
 * slowed by its own measuring clients: with hundreds of sockets, parsing every frame on the stack's
 * event loop took CPU from the very handlers and emulator being timed. The pool reports counts and
 * arrival times back, never each frame.
 */
import { startClientProcess, trackClient } from "./client-process.js";
import type { PoolReply, PoolRequest } from "./subscriber-worker.js";

/** Distributes `Omit` over a union, so each request keeps its own fields. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export interface EventReceipt {
  /** When the last socket received the event, on this thread's `performance.now()` clock. */
  readonly lastAt: number;
  readonly frameBytes: number;
  readonly duplicates: number;
}

export class SubscriberPool {
  private readonly worker = trackClient(
    startClientProcess(new URL("./subscriber-worker.ts", import.meta.url)),
  );
  private readonly pending = new Map<
    number,
    { resolve(reply: PoolReply): void; reject(error: Error): void }
  >();
  private nextId = 0;
  #size = 0;

  constructor() {
    this.worker.on("message", (reply: PoolReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === "failed") waiter?.reject(new Error(`subscriber pool: ${reply.message}`));
      else waiter?.resolve(reply);
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", (code) => this.failAll(new Error(`subscriber pool exited (${code})`)));
  }

  /** Sockets open in the pool. */
  get size(): number {
    return this.#size;
  }

  /** Opens one socket per URL (25 handshakes at a time). */
  async open(urls: readonly string[]): Promise<void> {
    await this.ask({ type: "open", urls });
    this.#size += urls.length;
  }

  /** Frames received so far by all sockets together. */
  async frames(): Promise<number> {
    return this.waitForFrames(0);
  }

  /** Resolves once the sockets together have received at least `count` frames since they opened. */
  async waitForFrames(count: number, timeoutMs = 60_000): Promise<number> {
    const reply = await this.ask({ type: "frames", atLeast: count }, timeoutMs, `${count} frames`);
    return reply.type === "done" ? reply.frames : 0;
  }

  /** Resolves once every socket has received the event frame of `seq` (earlier arrivals count). */
  async waitForEvent(seq: number, timeoutMs = 60_000): Promise<EventReceipt> {
    const what = `${this.#size} receipts of seq ${seq}`;
    const reply = await this.ask({ type: "event", seq }, timeoutMs, what);
    if (reply.type !== "event") throw new Error("subscriber pool: unexpected reply");
    return {
      lastAt: reply.lastAt - performance.timeOrigin,
      frameBytes: reply.frameBytes,
      duplicates: reply.duplicates,
    };
  }

  /** Every socket resumes from `afterSeq` and follows the replay to its end. */
  async resume(afterSeq: number): Promise<void> {
    await this.ask({ type: "resume", afterSeq });
  }

  /**
   * Per seq from 0 to `seqs` - 1, when each socket first received its event frame (this thread's
   * `performance.now()` clock), once `atLeast` receipts have arrived or `timeoutMs` has passed.
   * The worker then forgets those seqs, so each run asks once.
   */
  async receipts(
    seqs: number,
    atLeast: number,
    timeoutMs: number,
  ): Promise<{ times: (readonly number[])[]; duplicates: number }> {
    const reply = await this.ask({ type: "receipts", seqs, atLeast, timeoutMs }, timeoutMs + 30_000);
    if (reply.type !== "receipts") throw new Error("subscriber pool: unexpected reply");
    const origin = performance.timeOrigin;
    return {
      times: reply.times.map((times) => times.map((at) => at - origin)),
      duplicates: reply.duplicates,
    };
  }

  /** Closes every socket and ends the worker. */
  async close(): Promise<void> {
    try {
      await this.ask({ type: "close" });
    } finally {
      this.#size = 0;
      if (this.worker.exitCode === null) {
        const exited = new Promise((resolve) => this.worker.once("exit", resolve));
        this.worker.kill();
        await exited;
      }
    }
  }

  private ask(
    request: WithoutId<PoolRequest>,
    timeoutMs = 120_000,
    what: string = request.type,
  ): Promise<PoolReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`subscriber pool: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const settle = () => clearTimeout(timer);
      this.pending.set(id, {
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.worker.send({ ...request, id });
    });
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
