import { keys, SORT_KEY } from "./table-design.js";

/**
 * The stream mode's event source mapping (fanOut: "stream"): the CDK construct deploys these
 * values and the local stack's emulation (local/stream-event-source.ts) runs with the same ones.
 */
export interface FanOutStreamSettings {
  /** Records per invocation at most. Lambda's default for DynamoDB Streams is 100. */
  readonly batchSize: number;
  /**
   * How long Lambda gathers records before invoking, unless the batch fills first. 0 invokes as
   * soon as records arrive (Lambda polls each shard four times a second).
   */
  readonly maxBatchingWindowSeconds: number;
  /** Retries of a failed batch before it goes to the on-failure destination. */
  readonly retryAttempts: number;
  /** A failed batch is split in two and each half retried, to isolate a record that fails. */
  readonly bisectBatchOnError: boolean;
}

/**
 * 100 records a batch, a 2 s window: a run emitting 5 events a second reaches its viewers as one
 * frame every 2 s instead of ten (the mode's point is cost, bench/cost-model.ts; the direct mode is
 * the low-latency one), and a burst of 100 events leaves at once. 3 retries, bisected: the fan-out
 * fails a batch only when the table cannot be read, and a retry that finds it readable posts then.
 */
export const FAN_OUT_STREAM: FanOutStreamSettings = {
  batchSize: 100,
  maxBatchingWindowSeconds: 2,
  retryAttempts: 3,
  bisectBatchOnError: true,
};

/**
 * The mapping's filter (Lambda's FilterCriteria, EventBridge pattern syntax): INSERTs of event
 * items only. Subscriptions, run summaries, rate windows and TTL deletes are written to the same
 * table, and without the filter each would invoke (and bill) the fan-out for nothing.
 */
export const FAN_OUT_FILTER_PATTERN = {
  eventName: ["INSERT"],
  dynamodb: { Keys: { [SORT_KEY]: { S: [{ prefix: keys.eventPrefix }] } } },
} as const;
