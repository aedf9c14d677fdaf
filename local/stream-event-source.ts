import { randomUUID } from "node:crypto";
import type { FanOutStreamSettings } from "../lib/fan-out-stream.js";
import { type EventPattern, matchesEventPattern } from "./event-pattern.js";
import { describeError, type LocalLogger } from "./log.js";
import { compareSequence, type DynamoStreamRecord, type StreamLog } from "./stream-log.js";

/** What Lambda sends an event source mapping's on-failure destination: the batch's place, not its records. */
export interface StreamFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetryAttemptsExhausted";
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: 200;
    readonly executedVersion: "$LATEST";
    readonly functionError: "Unhandled";
  };
  readonly version: "1.0";
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export interface StreamEventSourceOptions {
  readonly stream: StreamLog;
  readonly settings: FanOutStreamSettings;
  /** FilterCriteria's pattern: records that do not match are skipped, never invoked. */
  readonly filter: EventPattern;
  /** Runs the function on `{ Records }` and resolves with its answer (rejects on a function error). */
  readonly invoke: (event: { Records: DynamoStreamRecord[] }) => Promise<unknown>;
  readonly onFailure: (record: StreamFailureRecord) => void | Promise<void>;
  readonly functionArn: string;
  /** Wait before retry n (1-based). @default 100 ms × 2^(n-1), at most 2 s */
  readonly retryDelayMs?: (retry: number) => number;
  readonly now: () => number;
  readonly log: LocalLogger;
}

/** Records scanned past the filter per batch at most, so a long run of filtered writes is bounded work. */
const MAX_SCANNED = 10_000;

/**
 * Lambda's event source mapping on a DynamoDB stream, for one function: each shard is read in
 * order, one batch in flight per shard (so one trace's records are handed over in order), with
 * the batch size, batching window and filter of the deployed mapping. A function error retries the
 * batch (split in two first when bisecting, which does not count as a retry), a partial batch
 * response (ReportBatchItemFailures) retries from the lowest failed record, and a batch that
 * keeps failing goes to the on-failure destination and is passed. The shard's checkpoint is saved
 * after each batch, so a restart resumes where the last one ended: records are handed over at
 * least once.
 */
export class StreamEventSource {
  readonly #options: StreamEventSourceOptions;
  readonly #wake = new Map<number, () => void>();
  readonly #busy = new Set<number>();
  readonly #idleWaiters: (() => void)[] = [];
  readonly #loops: Promise<void>[] = [];
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: StreamEventSourceOptions) {
    this.#options = options;
    this.#unsubscribe = options.stream.onAppend((shard) => this.#wake.get(shard)?.());
    for (let shard = 0; shard < options.stream.shardCount; shard++) this.#loops.push(this.#poll(shard));
  }

  /** Resolves once every shard's records have been handed over (or sent to the destination). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    for (const wake of this.#wake.values()) wake();
    await Promise.all(this.#loops);
  }

  #isIdle(): boolean {
    const { stream } = this.#options;
    for (let shard = 0; shard < stream.shardCount; shard++) {
      if (this.#busy.has(shard)) return false;
      const latest = stream.latest(shard);
      const checkpoint = stream.checkpoint(shard);
      if (latest !== undefined && (checkpoint === undefined || compareSequence(checkpoint, latest) < 0))
        return false;
    }
    return true;
  }

  #settle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Waits for records appended to the shard, or `ms` (forever when undefined), or close. */
  #sleep(shard: number, ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake.set(shard, done);
    });
  }

  /** The next batch: up to batchSize matching records after the checkpoint, and the last record scanned. */
  #nextBatch(shard: number): { records: DynamoStreamRecord[]; last: string | undefined } {
    const { stream, settings, filter } = this.#options;
    const records: DynamoStreamRecord[] = [];
    let last = stream.checkpoint(shard);
    let scanned = 0;
    while (records.length < settings.batchSize && scanned < MAX_SCANNED) {
      const page = stream.read(shard, last, settings.batchSize);
      if (page.length === 0) break;
      for (const record of page) {
        scanned++;
        if (matchesEventPattern(filter, record)) {
          if (records.length === settings.batchSize) return { records, last };
          records.push(record);
        }
        last = record.dynamodb.SequenceNumber;
      }
    }
    return { records, last };
  }

  async #poll(shard: number): Promise<void> {
    const { stream, settings, log } = this.#options;
    const windowMs = settings.maxBatchingWindowSeconds * 1000;
    while (!this.#closed) {
      let batch = this.#nextBatch(shard);
      if (batch.last === stream.checkpoint(shard)) {
        this.#settle();
        await this.#sleep(shard);
        continue;
      }
      // The batching window runs from the first record seen, until the batch is full.
      if (windowMs > 0 && batch.records.length > 0 && batch.records.length < settings.batchSize) {
        const deadline = Date.now() + windowMs;
        while (!this.#closed && batch.records.length < settings.batchSize && Date.now() < deadline) {
          await this.#sleep(shard, deadline - Date.now());
          batch = this.#nextBatch(shard);
        }
      }
      if (this.#closed) break;
      this.#busy.add(shard);
      try {
        if (batch.records.length > 0) await this.#deliver(shard, batch.records, 0);
        if (batch.last !== undefined) await stream.saveCheckpoint(shard, batch.last);
      } catch (error) {
        if (this.#closed) break;
        // Only saving the checkpoint can fail here: the batch is handed over again.
        log.error(`stream shard ${shard}: ${describeError(error)}`);
        await this.#sleep(shard, 1000);
      } finally {
        this.#busy.delete(shard);
      }
    }
    this.#settle();
  }

  /** Hands a batch over until it succeeds or is sent to the on-failure destination. */
  async #deliver(shard: number, batch: DynamoStreamRecord[], retriesBefore: number): Promise<void> {
    const { settings, log } = this.#options;
    let records = batch;
    let retries = retriesBefore;
    for (;;) {
      if (this.#closed) throw new Error("the event source mapping stopped with a batch in flight");
      let failure: string;
      try {
        const answer = await this.#options.invoke({ Records: records });
        const from = this.#firstFailed(records, answer);
        if (from === undefined) return;
        if (from > 0) {
          records = records.slice(from);
        }
        failure = `reported ${records.length} records as failed`;
      } catch (error) {
        if (settings.bisectBatchOnError && records.length > 1) {
          const half = Math.ceil(records.length / 2);
          log.warn(
            `stream shard ${shard}: batch of ${records.length} failed (${describeError(error)}); split in two`,
          );
          await this.#deliver(shard, records.slice(0, half), retries);
          await this.#deliver(shard, records.slice(half), retries);
          return;
        }
        failure = describeError(error);
      }
      retries++;
      if (retries > settings.retryAttempts) {
        log.warn(
          `stream shard ${shard}: batch of ${records.length} sent to the on-failure destination after ${retries} attempts: ${failure}`,
        );
        await this.#options.onFailure(this.#failureRecord(shard, records, retries));
        return;
      }
      log.debug(`stream shard ${shard}: batch of ${records.length} failed (${failure}); retry ${retries}`);
      await new Promise((resolve) => setTimeout(resolve, this.#delay(retries)));
    }
  }

  /**
   * Where a partial batch response says to restart: the index of the lowest failed record, or
   * undefined when none failed. An answer Lambda cannot read (an unknown or empty identifier) fails
   * the whole batch, as Lambda treats it.
   */
  #firstFailed(records: readonly DynamoStreamRecord[], answer: unknown): number | undefined {
    const failures = (answer as { batchItemFailures?: unknown } | null)?.batchItemFailures;
    if (!Array.isArray(failures) || failures.length === 0) return undefined;
    let first = records.length;
    for (const failure of failures) {
      const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      const index = records.findIndex((record) => record.dynamodb.SequenceNumber === id);
      if (index < 0) return 0;
      first = Math.min(first, index);
    }
    return first;
  }

  #delay(retry: number): number {
    return this.#options.retryDelayMs?.(retry) ?? Math.min(2000, 100 * 2 ** (retry - 1));
  }

  #failureRecord(
    shard: number,
    records: readonly DynamoStreamRecord[],
    attempts: number,
  ): StreamFailureRecord {
    const first = records[0] as DynamoStreamRecord;
    const last = records.at(-1) as DynamoStreamRecord;
    const at = (record: DynamoStreamRecord) =>
      new Date(record.dynamodb.ApproximateCreationDateTime * 1000).toISOString();
    return {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.#options.functionArn,
        condition: "RetryAttemptsExhausted",
        approximateInvokeCount: attempts,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: new Date(this.#options.now()).toISOString(),
      DDBStreamBatchInfo: {
        shardId: this.#options.stream.shardId(shard),
        startSequenceNumber: first.dynamodb.SequenceNumber,
        endSequenceNumber: last.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: at(first),
        approximateArrivalOfLastRecord: at(last),
        batchSize: records.length,
        streamArn: this.#options.stream.streamArn,
      },
    };
  }
}
