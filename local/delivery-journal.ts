import { type FileHandle, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { EventBridgeEnvelope } from "./put-events.js";

const FILE = "eventbridge-accepted.jsonl";
/** Rewrite the file once this many settled records have piled up behind the pending ones. */
const COMPACT_AFTER_SETTLED = 5000;

type Record = { readonly accepted: EventBridgeEnvelope } | { readonly settled: string };

/**
 * What EventBridge promises when PutEvents answers success: the event will be delivered, even if
 * the process that accepted it dies the next moment. With a data directory, every accepted event
 * is appended to a journal and flushed to disk (fdatasync) before PutEvents answers; it is marked
 * settled once its delivery reached an end (the emitter's invocation succeeded, or the event went
 * to a dead-letter queue or on-failure destination). At start, events accepted and never settled
 * are delivered again. A lost "settled" record only means a second delivery, which the emitter
 * recognizes as a duplicate, as it does EventBridge's own at-least-once redeliveries.
 */
export class DeliveryJournal {
  readonly #path: string;
  #file: FileHandle;
  readonly #pending = new Map<string, EventBridgeEnvelope>();
  #settledSinceCompaction = 0;
  /** Appends run one after another, so a compaction never interleaves with one. */
  #tail: Promise<void> = Promise.resolve();

  private constructor(path: string, file: FileHandle, pending: Map<string, EventBridgeEnvelope>) {
    this.#path = path;
    this.#file = file;
    this.#pending = pending;
  }

  /** Opens (or creates) the journal in `dir`; `unsettled()` then lists what awaits redelivery. */
  static async open(dir: string): Promise<DeliveryJournal> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, FILE);
    const pending = new Map<string, EventBridgeEnvelope>();
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    for (const line of text.split("\n")) {
      // The last line may be cut short by a crash mid-append: it was never acknowledged.
      let record: Record;
      try {
        record = JSON.parse(line) as Record;
      } catch {
        continue;
      }
      if ("accepted" in record) pending.set(record.accepted.id, record.accepted);
      else if ("settled" in record) pending.delete(record.settled);
    }
    const journal = new DeliveryJournal(path, await open(path, "a"), pending);
    await journal.#compact();
    return journal;
  }

  /** Events accepted before a restart and not yet settled, in the order they were accepted. */
  unsettled(): EventBridgeEnvelope[] {
    return [...this.#pending.values()];
  }

  /** Records the events as accepted; resolves once they are on disk. */
  accept(envelopes: readonly EventBridgeEnvelope[]): Promise<void> {
    if (envelopes.length === 0) return Promise.resolve();
    for (const envelope of envelopes) this.#pending.set(envelope.id, envelope);
    const lines = envelopes.map((envelope) => `${JSON.stringify({ accepted: envelope })}\n`).join("");
    return this.#append(lines, true);
  }

  /** Records that an event's delivery reached its end; not flushed (see the class comment). */
  settle(id: string): void {
    if (!this.#pending.delete(id)) return;
    this.#settledSinceCompaction++;
    void this.#append(`${JSON.stringify({ settled: id })}\n`, false).catch(() => undefined);
    if (this.#settledSinceCompaction >= COMPACT_AFTER_SETTLED) {
      this.#settledSinceCompaction = 0;
      this.#tail = this.#tail.then(() => this.#compact()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.#tail.catch(() => undefined);
    await this.#file.close();
  }

  #append(text: string, sync: boolean): Promise<void> {
    const write = this.#tail.then(async () => {
      await this.#file.appendFile(text, "utf8");
      if (sync) await this.#file.datasync();
    });
    this.#tail = write.catch(() => undefined);
    return write;
  }

  /** Rewrites the journal with the pending events only (written aside, then renamed over it). */
  async #compact(): Promise<void> {
    const next = `${this.#path}.next`;
    const file = await open(next, "w");
    try {
      const lines = [...this.#pending.values()].map(
        (envelope) => `${JSON.stringify({ accepted: envelope })}\n`,
      );
      await file.writeFile(lines.join(""), "utf8");
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(next, this.#path);
    await this.#file.close();
    this.#file = await open(this.#path, "a");
  }
}
