/**
 * The single-table layout (design §4), shared by the CDK table, the local stack's dynalite table
 * and the Lambda store adapter.
 */

export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const TTL_ATTRIBUTE = "expires_at";

const SEQ_DIGITS = 10;

export const keys = {
  trace: (traceId: string) => `TRACE#${traceId}`,
  connection: (connectionId: string) => `CONN#${connectionId}`,
  event: (seq: number) => `EVT#${String(seq).padStart(SEQ_DIGITS, "0")}`,
  /** A refused event of the trace (seq_conflict): one item each, so counting them is idempotent. */
  conflict: (seq: number, eventId: string) => `CONFLICT#${String(seq).padStart(SEQ_DIGITS, "0")}#${eventId}`,
  /** Key prefixes: `begins_with` queries, and IAM's `dynamodb:LeadingKeys` conditions. */
  tracePrefix: "TRACE#",
  connectionPrefix: "CONN#",
  eventPrefix: "EVT#",
  conflictPrefix: "CONFLICT#",
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
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: "HASH" as const },
      { AttributeName: SORT_KEY, KeyType: "RANGE" as const },
    ],
    BillingMode: "PAY_PER_REQUEST" as const,
  };
}
