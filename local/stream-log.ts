import { randomUUID } from "node:crypto";
import { type FileHandle, mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

/** A DynamoDB attribute value map as the low-level API writes it (`{"S": "..."}`, `{"N": "1"}`). */
export type AttributeMap = Record<string, unknown>;

/** A DynamoDB Streams record, as GetRecords and Lambda's event source mapping hand it out. */
export interface DynamoStreamRecord {
  readonly eventID: string;
  readonly eventName: "INSERT" | "MODIFY" | "REMOVE";
  readonly eventVersion: "1.1";
  readonly eventSource: "aws:dynamodb";
  readonly awsRegion: string;
  readonly dynamodb: {
    /** Epoch seconds. */
    readonly ApproximateCreationDateTime: number;
    readonly Keys: AttributeMap;
    readonly NewImage?: AttributeMap;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: "NEW_IMAGE";
  };
  readonly eventSourceARN: string;
}

/** A write about to be made: the keys it touches and their items before it (null: none). */
interface Intent {
  readonly id: number;
  readonly keys: readonly AttributeMap[];
  readonly old: readonly (AttributeMap | null)[];
}

/**
 * A record line names the intent and key it ends, so a crash that cuts the lines of one write
 * short leaves only the keys without a record to finish again.
 */
type Line =
  | { readonly intent: Intent }
  | { readonly record: DynamoStreamRecord; readonly shard: number; readonly of?: readonly [number, number] }
  | { readonly done: number };

const FILE = "dynamodb-stream.jsonl";
const CHECKPOINT_FILE = "dynamodb-stream-checkpoints.json";
/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Records held per shard at most (oldest dropped first), so a long session stays bounded. */
const MAX_RECORDS_PER_SHARD = 50_000;
const COMPACT_AFTER_LINES = 20_000;
const SEQUENCE_DIGITS = 21;

export interface StreamLogOptions {
  /** Where the log and the checkpoints are kept; in memory when absent. */
  readonly dir?: string | undefined;
  readonly shardCount: number;
  readonly streamArn: string;
  readonly region: string;
  /** The table's partition key attribute: one key's records all go to one shard, in order. */
  readonly partitionKey: string;
  readonly now: () => number;
}

/**
 * The table's stream: records per shard in write order, with growing sequence numbers, and the
 * event source mapping's checkpoints. With a directory it is a write-ahead log: before a write
 * reaches DynamoDB its keys and old items are appended and flushed (`begin`); after it, the
 * change it made is appended as records (`complete`). A crash between the two leaves an intent
 * without its end, which `open` hands back (`unfinished`) so the stack finishes it by reading the
 * items again: every write DynamoDB acknowledged has its record, even across kill -9.
 */
export class StreamLog {
  readonly #options: StreamLogOptions;
  readonly #shards: DynamoStreamRecord[][];
  readonly #intents = new Map<number, Intent>();
  /** Keys (by index) of unfinished intents whose record is already in the log. */
  readonly #recorded = new Map<number, Set<number>>();
  readonly #checkpoints = new Map<number, string>();
  readonly #listeners = new Set<(shard: number) => void>();
  #file: FileHandle | undefined;
  #path: string | undefined;
  #nextSequence = 1n;
  #nextIntent = 1;
  #linesSinceCompaction = 0;
  #tail: Promise<void> = Promise.resolve();

  private constructor(options: StreamLogOptions) {
    this.#options = options;
    this.#shards = Array.from({ length: options.shardCount }, () => []);
  }

  static async open(options: StreamLogOptions): Promise<StreamLog> {
    const log = new StreamLog(options);
    if (!options.dir) return log;
    await mkdir(options.dir, { recursive: true });
    log.#path = join(options.dir, FILE);
    const text = await readFile(log.#path, "utf8").catch(ignoreMissing);
    for (const raw of text.split("\n")) {
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // the last line may be cut short by a crash mid-append
      }
      if ("intent" in line) {
        log.#intents.set(line.intent.id, line.intent);
        log.#nextIntent = Math.max(log.#nextIntent, line.intent.id + 1);
      } else if ("done" in line) log.#intents.delete(line.done);
      else if ("record" in line && log.#shards[line.shard]) {
        if (line.of) {
          const [intent, key] = line.of;
          const keys = log.#recorded.get(intent) ?? new Set<number>();
          keys.add(key);
          log.#recorded.set(intent, keys);
        }
        log.#shards[line.shard]?.push(line.record);
        log.#bumpSequence(line.record.dynamodb.SequenceNumber);
      }
    }
    const checkpoints = await readFile(join(options.dir, CHECKPOINT_FILE), "utf8").catch(ignoreMissing);
    if (checkpoints) {
      for (const [shard, sequence] of Object.entries(JSON.parse(checkpoints) as Record<string, string>)) {
        log.#checkpoints.set(Number(shard), sequence);
        // A checkpoint may name a record whose line a crash lost: numbers never go back.
        log.#bumpSequence(sequence);
      }
    }
    // With unfinished intents, the log keeps which of their keys have records: compacted later.
    if (log.#intents.size === 0) await log.#compact();
    return log;
  }

  get streamArn(): string {
    return this.#options.streamArn;
  }

  get shardCount(): number {
    return this.#shards.length;
  }

  /** The shard's id as DescribeStream names it. */
  shardId(shard: number): string {
    return `shardId-${String(shard).padStart(8, "0")}-stream`;
  }

  shardOf(keys: AttributeMap): number {
    const value = JSON.stringify(keys[this.#options.partitionKey] ?? null);
    let hash = 2166136261;
    for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 16777619);
    return (hash >>> 0) % this.#shards.length;
  }

  /** Intents a crash left without their end: finish each with `complete` before serving writes. */
  unfinished(): { id: number; keys: readonly AttributeMap[]; old: readonly (AttributeMap | null)[] }[] {
    return [...this.#intents.values()];
  }

  /** Records a write about to be made; resolves once it is on disk. */
  async begin(keys: readonly AttributeMap[], old: readonly (AttributeMap | null)[]): Promise<number> {
    const intent: Intent = { id: this.#nextIntent++, keys, old };
    this.#intents.set(intent.id, intent);
    await this.#append(`${JSON.stringify({ intent })}\n`, true);
    return intent.id;
  }

  /**
   * Ends a write: for each key whose item changed (`now` against the intent's `old`), appends a
   * record. Not flushed: the next `begin` flushes it, and a crash before that leaves the intent,
   * which is finished again at start.
   */
  complete(id: number, now: readonly (AttributeMap | null)[]): DynamoStreamRecord[] {
    const intent = this.#intents.get(id);
    if (!intent) return [];
    this.#intents.delete(id);
    const recorded = this.#recorded.get(id);
    this.#recorded.delete(id);
    const lines: string[] = [];
    const added: { shard: number; record: DynamoStreamRecord }[] = [];
    intent.keys.forEach((keys, i) => {
      if (recorded?.has(i)) return; // its record was logged before a crash cut the rest
      const before = intent.old[i] ?? null;
      const after = now[i] ?? null;
      if (canonical(before) === canonical(after)) return; // DynamoDB writes no record for a no-op
      const record = this.#record(keys, before, after);
      const shard = this.shardOf(keys);
      added.push({ shard, record });
      lines.push(JSON.stringify({ record, shard, of: [id, i] }));
    });
    lines.push(JSON.stringify({ done: id }));
    void this.#append(`${lines.join("\n")}\n`, false).catch(() => undefined);
    for (const { shard, record } of added) this.#push(shard, record);
    for (const shard of new Set(added.map(({ shard }) => shard))) {
      for (const listener of this.#listeners) listener(shard);
    }
    return added.map(({ record }) => record);
  }

  /** Records of `shard` after `afterSequence` (all when undefined), oldest first, at most `limit`. */
  read(shard: number, afterSequence: string | undefined, limit: number): DynamoStreamRecord[] {
    const records = this.#shards[shard] ?? [];
    let low = 0;
    if (afterSequence !== undefined) {
      let high = records.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (compareSequence((records[mid] as DynamoStreamRecord).dynamodb.SequenceNumber, afterSequence) <= 0)
          low = mid + 1;
        else high = mid;
      }
    }
    return records.slice(low, low + limit);
  }

  /** The newest record's sequence number of the shard, if it has any. */
  latest(shard: number): string | undefined {
    return this.#shards[shard]?.at(-1)?.dynamodb.SequenceNumber;
  }

  oldest(shard: number): string | undefined {
    return this.#shards[shard]?.[0]?.dynamodb.SequenceNumber;
  }

  /** Calls `listener` with the shard each time records are appended to it. */
  onAppend(listener: (shard: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  checkpoint(shard: number): string | undefined {
    return this.#checkpoints.get(shard);
  }

  /** Saves the event source mapping's position in `shard` (written aside, then renamed). */
  async saveCheckpoint(shard: number, sequence: string): Promise<void> {
    this.#checkpoints.set(shard, sequence);
    if (!this.#options.dir) return;
    const path = join(this.#options.dir, CHECKPOINT_FILE);
    const body = JSON.stringify(Object.fromEntries(this.#checkpoints));
    const write = this.#tail.then(async () => {
      const next = `${path}.${randomUUID()}.next`;
      const file = await open(next, "w");
      try {
        await file.writeFile(body, "utf8");
        await file.datasync();
      } finally {
        await file.close();
      }
      await rename(next, path);
    });
    this.#tail = write.catch(() => undefined);
    await write;
  }

  async close(): Promise<void> {
    await this.#tail.catch(() => undefined);
    await this.#file?.close();
    this.#file = undefined;
  }

  #record(keys: AttributeMap, before: AttributeMap | null, after: AttributeMap | null): DynamoStreamRecord {
    const sequence = this.#nextSequence++;
    const image = after ?? undefined;
    return {
      eventID: randomUUID().replaceAll("-", ""),
      eventName: before === null ? "INSERT" : after === null ? "REMOVE" : "MODIFY",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: this.#options.region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(this.#options.now() / 1000),
        Keys: keys,
        ...(image ? { NewImage: image } : {}),
        SequenceNumber: String(sequence).padStart(SEQUENCE_DIGITS, "0"),
        SizeBytes:
          Buffer.byteLength(JSON.stringify(keys)) + (image ? Buffer.byteLength(JSON.stringify(image)) : 0),
        StreamViewType: "NEW_IMAGE",
      },
      eventSourceARN: this.#options.streamArn,
    };
  }

  #push(shard: number, record: DynamoStreamRecord): void {
    const records = this.#shards[shard];
    if (!records) return;
    records.push(record);
    const cutoff = Math.floor((this.#options.now() - STREAM_RETENTION_MS) / 1000);
    let drop = Math.max(0, records.length - MAX_RECORDS_PER_SHARD);
    while (
      drop < records.length &&
      (records[drop] as DynamoStreamRecord).dynamodb.ApproximateCreationDateTime < cutoff
    )
      drop++;
    if (drop > 0) records.splice(0, drop);
  }

  #bumpSequence(sequence: string): void {
    const value = BigInt(sequence);
    if (value >= this.#nextSequence) this.#nextSequence = value + 1n;
  }

  #append(text: string, sync: boolean): Promise<void> {
    if (!this.#path) return Promise.resolve();
    const write = this.#tail.then(async () => {
      this.#file ??= await open(this.#path as string, "a");
      await this.#file.appendFile(text, "utf8");
      if (sync) await this.#file.datasync();
      this.#linesSinceCompaction++;
      if (this.#linesSinceCompaction >= COMPACT_AFTER_LINES && this.#intents.size === 0)
        await this.#compact();
    });
    this.#tail = write.catch(() => undefined);
    return write;
  }

  /** Rewrites the log with what is still held: the records and the unfinished intents. */
  async #compact(): Promise<void> {
    if (!this.#path) return;
    const next = `${this.#path}.next`;
    const file = await open(next, "w");
    try {
      const lines = [
        ...this.#shards.flatMap((records, shard) =>
          records.map((record) => JSON.stringify({ record, shard })),
        ),
        ...[...this.#intents.values()].map((intent) => JSON.stringify({ intent })),
      ];
      await file.writeFile(lines.length > 0 ? `${lines.join("\n")}\n` : "", "utf8");
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(next, this.#path);
    await this.#file?.close();
    this.#file = await open(this.#path, "a");
    this.#linesSinceCompaction = 0;
  }
}

/** Sequence numbers are zero-padded decimals; longer ones (none here) would be larger. */
export function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** JSON with object keys sorted, so two images compare equal whatever order their attributes came in. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

function ignoreMissing(error: NodeJS.ErrnoException): string {
  if (error.code === "ENOENT") return "";
  throw error;
}
