/**
 * Connections watching the runs list (`?runs=1`): one item each in the watchers' partition
 * (`WATCH#RUNS` / `CONN#id`, with the token's grants), and a reverse item in the connection's
 * partition (`CONN#id` / `WATCH#RUNS`) so `$disconnect` and `listRuns` find it by connection.
 * Both expire with the connection (TTL), like trace subscriptions.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../../lib/table-design.js";
import { countUpTo, takeRequestOn } from "./trace-store.js";

export interface RunsWatcher {
  readonly connectionId: string;
  /** The token's `traces` grants: exact ids and `prefix*` entries. */
  readonly grants: readonly string[];
}

export interface RunsWatchers {
  put(watcher: {
    connectionId: string;
    grants: readonly string[];
    /** Epoch ms. */
    connectedAt: number;
    /** Epoch seconds (DynamoDB TTL). */
    expiresAt: number;
  }): Promise<void>;
  /** Watchers counted up to `atMost`. */
  count(atMost: number): Promise<number>;
  /** The grants of a connection that watches the runs list (consistent); undefined when it does not. */
  grantsOf(connectionId: string): Promise<readonly string[] | undefined>;
  /** Every watcher, at most `atMost` (eventually consistent: the emitter caches them anyway). */
  list(atMost: number): Promise<RunsWatcher[]>;
  /**
   * Deletes a watcher that answered 410 Gone unless it connected at or after `connectedBefore`
   * (API Gateway answers 410 while `$connect` runs); resolves to whether it was deleted.
   */
  prune(connectionId: string, connectedBefore: number): Promise<boolean>;
  /** One `listRuns` request against the connection's rate window (kept on its reverse item). */
  takeRequest(
    connectionId: string,
    rate: { now: number; windowMs: number; perWindow: number },
  ): Promise<"allowed" | { retryAfterMs: number }>;
}

const grantsOfItem = (item: Record<string, unknown> | undefined): string[] | undefined =>
  Array.isArray(item?.grants) ? item.grants.map(String) : undefined;

export function dynamoRunsWatchers(client: DynamoDBDocumentClient, tableName: string): RunsWatchers {
  return {
    async put({ connectionId, grants, connectedAt, expiresAt }) {
      const common = {
        connection_id: connectionId,
        grants: [...grants],
        connected_at: new Date(connectedAt).toISOString(),
        [TTL_ATTRIBUTE]: expiresAt,
      };
      // Reverse item first: if the watcher write fails, $disconnect can still find and clear it.
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: keys.runsWatchers, ...common },
        }),
      );
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { [PARTITION_KEY]: keys.runsWatchers, [SORT_KEY]: keys.connection(connectionId), ...common },
        }),
      );
    },

    async count(atMost) {
      return countUpTo(
        client,
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":pk": keys.runsWatchers },
        },
        atMost,
      );
    },

    async grantsOf(connectionId) {
      // A connection has one reverse item: its trace subscription or its runs watch.
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          ExpressionAttributeValues: { ":pk": keys.connection(connectionId) },
          ConsistentRead: true,
          Limit: 1,
        }),
      );
      const item = result.Items?.[0];
      return item?.[SORT_KEY] === keys.runsWatchers ? grantsOfItem(item) : undefined;
    },

    async list(atMost) {
      const watchers: RunsWatcher[] = [];
      for await (const page of paginateQuery(
        { client },
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":pk": keys.runsWatchers },
          ProjectionExpression: "#sk, grants",
        },
      )) {
        for (const item of page.Items ?? []) {
          if (watchers.length >= atMost) return watchers;
          watchers.push({
            connectionId: String(item[SORT_KEY]).slice(keys.connectionPrefix.length),
            grants: grantsOfItem(item) ?? [],
          });
        }
      }
      return watchers;
    },

    async prune(connectionId, connectedBefore) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { [PARTITION_KEY]: keys.runsWatchers, [SORT_KEY]: keys.connection(connectionId) },
            ConditionExpression: "attribute_not_exists(connected_at) OR connected_at < :cutoff",
            ExpressionAttributeValues: { ":cutoff": new Date(connectedBefore).toISOString() },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
      await client.send(
        new BatchWriteCommand({
          RequestItems: {
            [tableName]: [
              {
                DeleteRequest: {
                  Key: { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: keys.runsWatchers },
                },
              },
            ],
          },
        }),
      );
      return true;
    },

    takeRequest(connectionId, rate) {
      return takeRequestOn(
        client,
        tableName,
        { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: keys.runsWatchers },
        rate,
      );
    },
  };
}
