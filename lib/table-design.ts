/**
 * The single-table layout (design §4), shared by the CDK table, the local stack's dynalite table
 * and the Lambda store adapter.
 */

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const TTL_ATTRIBUTE = "expires_at";

const SEQ_DIGITS = 10;

/**
 * The run index: one summary item per trace (`TRACE#id` / `RUN`), kept by the emitter, and a sparse
 * GSI over it that lists runs newest first without a Scan. The GSI's partition is the UTC day the
 * run started (`RUNS#2026-12-02`), its sort key the start time then the trace id, so a day's runs
 * read newest first and the days before follow. It projects keys only: its keys are written once
 * per run, so the index partition of a busy day takes one write per run, not one per event; the
 * list reads the summaries themselves by key.
 */
export const RUNS_INDEX = "runs";
export const RUNS_PARTITION_KEY = "runs_pk";
export const RUNS_SORT_KEY = "runs_sk";

export const keys = {
  trace: (traceId: string) => `TRACE#${traceId}`,
  connection: (connectionId: string) => `CONN#${connectionId}`,
  event: (seq: number) => `EVT#${String(seq).padStart(SEQ_DIGITS, "0")}`,
  /** A refused event of the trace (seq_conflict): one item each, so counting them is idempotent. */
  conflict: (seq: number, eventId: string) => `CONFLICT#${String(seq).padStart(SEQ_DIGITS, "0")}#${eventId}`,
  /** The trace's run summary (sort key, in the trace's partition). */
  runSummary: "RUN",
  /** The run index partition of the UTC day `startedAt` (epoch ms) falls in. */
  runsDay: (startedAt: number) => `RUNS#${new Date(startedAt).toISOString().slice(0, 10)}`,
  /** The run index sort key: start time (ISO-8601, sorts as text), then the trace id. */
  runsOrder: (startedAt: number, traceId: string) => `${new Date(startedAt).toISOString()}#${traceId}`,
  /**
   * The runs watchers' partition (one item per connection watching the runs list, `CONN#id`), and
   * the sort key of a watcher's reverse item in its connection partition. One small partition:
   * connect caps the watchers (DEFAULT_MAX_RUNS_WATCHERS) and the emitter reads it at most once
   * per cache period per container.
   */
  runsWatchers: "WATCH#RUNS",
  /** Key prefixes: `begins_with` queries, and IAM's `dynamodb:LeadingKeys` conditions. */
  tracePrefix: "TRACE#",
  connectionPrefix: "CONN#",
  eventPrefix: "EVT#",
  conflictPrefix: "CONFLICT#",
  runsPrefix: "RUNS#",
  watchPrefix: "WATCH#",
} as const;

export function seqFromEventKey(sortKey: string): number {
  return Number(sortKey.slice(keys.eventPrefix.length));
}

/** CreateTable input for the local stack (the CDK table declares the same keys). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: "S" as const },
      { AttributeName: SORT_KEY, AttributeType: "S" as const },
      { AttributeName: RUNS_PARTITION_KEY, AttributeType: "S" as const },
      { AttributeName: RUNS_SORT_KEY, AttributeType: "S" as const },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: "HASH" as const },
      { AttributeName: SORT_KEY, KeyType: "RANGE" as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: RUNS_INDEX,
        KeySchema: [
          { AttributeName: RUNS_PARTITION_KEY, KeyType: "HASH" as const },
          { AttributeName: RUNS_SORT_KEY, KeyType: "RANGE" as const },
        ],
        Projection: { ProjectionType: "KEYS_ONLY" as const },
      },
    ],
    BillingMode: "PAY_PER_REQUEST" as const,
  };
}
