import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../lib/table-design.js";
import { describeError, type LocalLogger } from "./log.js";

export interface TtlSweeperOptions {
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch milliseconds; tests pass a clock they can move. */
  readonly now: () => number;
  /** Sweep every this many ms; 0 sweeps only when asked. */
  readonly intervalMs: number;
  readonly log: LocalLogger;
}

export interface TtlSweeper {
  /** Deletes every item whose `expires_at` (epoch seconds) is in the past; resolves with the count. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * DynamoDB's TTL for dynalite, which has none: a periodic Scan for expired items and a conditional
 * delete of each (an item whose TTL was pushed forward meanwhile stays). Like DynamoDB, it only
 * looks at numeric `expires_at` values.
 */
export function startTtlSweeper(options: TtlSweeperOptions): TtlSweeper {
  const { documentClient, tableName, log } = options;
  let running: Promise<number> = Promise.resolve(0);
  let stopped = false;

  const sweepOnce = async (): Promise<number> => {
    const nowSeconds = Math.floor(options.now() / 1000);
    const names = { "#pk": PARTITION_KEY, "#sk": SORT_KEY, "#ttl": TTL_ATTRIBUTE };
    let deleted = 0;
    const pages = paginateScan(
      { client: documentClient },
      {
        TableName: tableName,
        ConsistentRead: true,
        ProjectionExpression: "#pk, #sk",
        FilterExpression: "#ttl < :now",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ":now": nowSeconds },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (stopped) return deleted;
        try {
          await documentClient.send(
            new DeleteCommand({
              TableName: tableName,
              Key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] },
              ConditionExpression: "#ttl < :now",
              ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
              ExpressionAttributeValues: { ":now": nowSeconds },
            }),
          );
          deleted++;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
    }
    if (deleted > 0) log.debug(`TTL sweep deleted ${deleted} expired items`);
    return deleted;
  };

  // Sweeps never overlap: a sweep asked for while one runs starts after it.
  const sweep = (): Promise<number> => {
    const next = running.catch(() => 0).then(sweepOnce);
    running = next;
    return next;
  };

  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          sweep().catch((error: unknown) => log.warn(`TTL sweep failed: ${describeError(error)}`));
        }, options.intervalMs)
      : undefined;
  timer?.unref();

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
