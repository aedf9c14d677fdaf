import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../../lib/table-design.js";
import {
  MAX_CONFLICTS_COUNTED,
  MAX_CONFLICTS_LISTED,
  MAX_SEQ,
  type RefusedEvent,
  type TraceEvent,
} from "../../protocol/index.js";

/** Result of storing an event: new, or the same event delivered again. */
export type PutEventResult = "stored" | "duplicate";

/** A different event already holds this trace+seq: the producer broke the dense-seq contract. */
export class EventConflictError extends Error {
  override readonly name = "EventConflictError";
  readonly traceId: string;
  readonly seq: number;
  readonly storedEventId: string;
  constructor(traceId: string, seq: number, storedEventId: string) {
    super(`seq ${seq} of trace ${traceId} is already held by event ${storedEventId}`);
    this.traceId = traceId;
    this.seq = seq;
    this.storedEventId = storedEventId;
  }
}

/** The refused events (seq_conflict) recorded for a trace, as far as one read counts them. */
export interface ConflictSummary {
  /** Refused events counted: at most MAX_CONFLICTS_COUNTED. */
  readonly count: number;
  /** There are more than `count`. */
  readonly more: boolean;
  /** The first refused events by seq, at most MAX_CONFLICTS_LISTED. */
  readonly refused: readonly RefusedEvent[];
}

/** The storage the handlers need (design §4), as a port the pure cores depend on. */
export interface TraceStore {
  putSubscription(subscription: {
    traceId: string;
    connectionId: string;
    /** Epoch milliseconds; kept as ISO-8601 `connected_at`. */
    connectedAt: number;
    /** Epoch seconds (DynamoDB TTL). */
    expiresAt: number;
  }): Promise<void>;
  /** Trace a connection watches, read consistently; undefined when it has no subscription. */
  traceOfConnection(connectionId: string): Promise<string | undefined>;
  /** Deletes the connection's subscription and reverse items; already-deleted is fine. */
  deleteConnection(connectionId: string): Promise<void>;
  deleteSubscription(traceId: string, connectionId: string): Promise<void>;
  /**
   * Deletes a subscription that answered 410 Gone, unless it connected at or after
   * `connectedBefore` (epoch ms): API Gateway answers 410 for a connection still inside `$connect`,
   * whose subscription is already written. Resolves to whether it was deleted.
   */
  pruneSubscription(traceId: string, connectionId: string, connectedBefore: number): Promise<boolean>;
  /** Conditional put on trace+seq; throws EventConflictError when another event holds the seq. */
  putEvent(event: TraceEvent, expiresAt: number): Promise<PutEventResult>;
  /** Pages of subscriber connection ids, from a consistent, paginated query. */
  subscribers(traceId: string): AsyncIterable<string[]>;
  /**
   * Pages of stored events with seq > afterSeq, ascending, consistent reads; at most `limit`
   * events in all when given (the table reads no more than that).
   */
  eventsAfter(traceId: string, afterSeq: number, limit?: number): AsyncIterable<TraceEvent[]>;
  /**
   * Counts one request of a connection against its fixed-window rate limit (kept on the
   * connection's reverse-lookup item, so it ends with the connection). Resolves to "allowed", or
   * to how long until the window that refused it ends.
   */
  takeRequest(
    connectionId: string,
    traceId: string,
    rate: { now: number; windowMs: number; perWindow: number },
  ): Promise<"allowed" | { retryAfterMs: number }>;
  /** Subscribers of the trace, counted up to `atMost` (the count stops there). */
  countSubscribers(traceId: string, atMost: number): Promise<number>;
  /** Highest stored seq of the trace, -1 when none. */
  highestSeq(traceId: string): Promise<number>;
  /** Records a refused event (idempotent: the same event recorded twice is one item). */
  putConflict(traceId: string, refused: RefusedEvent, expiresAt: number): Promise<void>;
  /** The trace's refused events, counted from what is stored (consistent read, one page). */
  conflicts(traceId: string): Promise<ConflictSummary>;
}

/** Reverse-lookup items carry the trace id so `$disconnect` needs no scan. */
interface ConnectionItem {
  pk: string;
  sk: string;
  trace_id: string;
}

/** The key condition of a Query for the items of a trace's partition whose sort key has `prefix`. */
function itemsOfTrace(traceId: string, prefix: string) {
  return {
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
    ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":prefix": prefix },
  };
}

export function dynamoTraceStore(client: DynamoDBDocumentClient, tableName: string): TraceStore {
  /** A connection's reverse-lookup items (one per connection: one trace per connection), consistently. */
  async function reverseItems(connectionId: string, limit?: number): Promise<ConnectionItem[]> {
    const result = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
        ExpressionAttributeValues: { ":pk": keys.connection(connectionId) },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (result.Items ?? []) as ConnectionItem[];
  }

  /** Non-empty pages of a paginated Query, each item mapped; stops after `limit` items when given. */
  async function* queryPages<T>(
    input: QueryCommandInput,
    map: (item: Record<string, unknown>) => T,
    limit = Number.POSITIVE_INFINITY,
  ) {
    let left = limit;
    for await (const page of paginateQuery({ client }, input)) {
      const items = (page.Items ?? []).slice(0, left).map(map);
      left -= items.length;
      if (items.length > 0) yield items;
      if (left <= 0) return;
    }
  }

  async function deleteItems(items: { pk: string; sk: string }[]): Promise<void> {
    // BatchWrite can leave items unprocessed under throttling; resend them until none remain.
    let requests = items.map((item) => ({
      DeleteRequest: { Key: { [PARTITION_KEY]: item.pk, [SORT_KEY]: item.sk } },
    }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 8) throw new Error(`could not delete ${requests.length} items after ${attempt} attempts`);
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }

  return {
    async putSubscription({ traceId, connectionId, connectedAt, expiresAt }) {
      const common = {
        trace_id: traceId,
        connection_id: connectionId,
        connected_at: new Date(connectedAt).toISOString(),
        [TTL_ATTRIBUTE]: expiresAt,
      };
      // Reverse item first: if the subscription write fails, $disconnect can still find and clear it.
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [PARTITION_KEY]: keys.connection(connectionId),
            [SORT_KEY]: keys.trace(traceId),
            ...common,
          },
        }),
      );
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [PARTITION_KEY]: keys.trace(traceId),
            [SORT_KEY]: keys.connection(connectionId),
            ...common,
          },
        }),
      );
    },

    async traceOfConnection(connectionId) {
      return (await reverseItems(connectionId, 1))[0]?.trace_id;
    },

    async deleteConnection(connectionId) {
      const reverse = await reverseItems(connectionId);
      await deleteItems(
        reverse.flatMap((item) => [
          // A runs watcher's reverse item points at the watchers' partition, not at a trace.
          item.sk === keys.runsWatchers
            ? { pk: keys.runsWatchers, sk: keys.connection(connectionId) }
            : { pk: keys.trace(item.trace_id), sk: keys.connection(connectionId) },
          { pk: item.pk, sk: item.sk },
        ]),
      );
    },

    async deleteSubscription(traceId, connectionId) {
      await deleteItems([
        { pk: keys.trace(traceId), sk: keys.connection(connectionId) },
        { pk: keys.connection(connectionId), sk: keys.trace(traceId) },
      ]);
    },

    async pruneSubscription(traceId, connectionId, connectedBefore) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { [PARTITION_KEY]: keys.trace(traceId), [SORT_KEY]: keys.connection(connectionId) },
            // ISO-8601 strings of one format order as the instants they name.
            ConditionExpression: "attribute_not_exists(connected_at) OR connected_at < :cutoff",
            ExpressionAttributeValues: { ":cutoff": new Date(connectedBefore).toISOString() },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
      await deleteItems([{ pk: keys.connection(connectionId), sk: keys.trace(traceId) }]);
      return true;
    },

    async putEvent(event, expiresAt) {
      const key = { [PARTITION_KEY]: keys.trace(event.trace_id), [SORT_KEY]: keys.event(event.seq) };
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key,
              event_id: event.event_id,
              event: event.event,
              seq: event.seq,
              timestamp: event.timestamp,
              status: event.status,
              payload: JSON.stringify(event),
              [TTL_ATTRIBUTE]: expiresAt,
            },
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": PARTITION_KEY },
          }),
        );
        return "stored";
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const existing = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: key,
          ConsistentRead: true,
          ProjectionExpression: "event_id",
        }),
      );
      const storedEventId = existing.Item?.event_id as string | undefined;
      if (storedEventId === event.event_id) return "duplicate";
      throw new EventConflictError(event.trace_id, event.seq, storedEventId ?? "(unknown)");
    },

    subscribers(traceId) {
      return queryPages(
        {
          TableName: tableName,
          ...itemsOfTrace(traceId, keys.connectionPrefix),
          ProjectionExpression: "#sk",
          ConsistentRead: true,
        },
        (item) => String(item[SORT_KEY]).slice(keys.connectionPrefix.length),
      );
    },

    eventsAfter(traceId, afterSeq, limit) {
      return queryPages(
        {
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: {
            ":pk": keys.trace(traceId),
            ":from": keys.event(afterSeq + 1),
            ":to": keys.event(MAX_SEQ),
          },
          ProjectionExpression: "payload",
          ConsistentRead: true,
          Limit: limit,
        },
        (item) => JSON.parse(String(item.payload)) as TraceEvent,
        limit,
      );
    },

    takeRequest(connectionId, traceId, rate) {
      return takeRequestOn(
        client,
        tableName,
        { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: keys.trace(traceId) },
        rate,
      );
    },

    async countSubscribers(traceId, atMost) {
      return countUpTo(
        client,
        { TableName: tableName, ...itemsOfTrace(traceId, keys.connectionPrefix) },
        atMost,
      );
    },

    async highestSeq(traceId) {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          ...itemsOfTrace(traceId, keys.eventPrefix),
          ProjectionExpression: "seq",
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: 1,
        }),
      );
      const seq = result.Items?.[0]?.seq;
      return typeof seq === "number" ? seq : -1;
    },

    async putConflict(traceId, refused, expiresAt) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            [PARTITION_KEY]: keys.trace(traceId),
            [SORT_KEY]: keys.conflict(refused.seq, refused.event_id),
            seq: refused.seq,
            event_id: refused.event_id,
            [TTL_ATTRIBUTE]: expiresAt,
          },
        }),
      );
    },

    async conflicts(traceId) {
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          ...itemsOfTrace(traceId, keys.conflictPrefix),
          ProjectionExpression: "seq, event_id",
          ConsistentRead: true,
          // One page bounds the work of a resume, however many events a reused id had refused;
          // one item past the count tells whether there are more.
          Limit: MAX_CONFLICTS_COUNTED + 1,
        }),
      );
      const items = result.Items ?? [];
      return {
        count: Math.min(items.length, MAX_CONFLICTS_COUNTED),
        more: result.LastEvaluatedKey !== undefined,
        refused: items
          .slice(0, MAX_CONFLICTS_LISTED)
          .map((item) => ({ seq: Number(item.seq), event_id: String(item.event_id) })),
      };
    },
  };
}

/**
 * Counts one request against a fixed-window rate limit kept on the item at `key` (which must
 * exist): "allowed", or how long until the window that refused it ends.
 */
/** Items a query finds, counted up to `atMost` (it stops reading there). */
export async function countUpTo(
  client: DynamoDBDocumentClient,
  query: Omit<QueryCommandInput, "Select">,
  atMost: number,
): Promise<number> {
  let count = 0;
  for await (const page of paginateQuery({ client, pageSize: atMost }, { ...query, Select: "COUNT" })) {
    count += page.Count ?? 0;
    if (count >= atMost) return atMost;
  }
  return count;
}

export async function takeRequestOn(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, string>,
  { now, windowMs, perWindow }: { now: number; windowMs: number; perWindow: number },
): Promise<"allowed" | { retryAfterMs: number }> {
  const windowStart = now - (now % windowMs);
  const update = (expression: string, condition: string, values: Record<string, number>) =>
    client
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(#pk) AND (${condition})`,
          ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#w": "rate_window", "#n": "rate_count" },
          ExpressionAttributeValues: values,
        }),
      )
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof ConditionalCheckFailedException) return false;
          throw error;
        },
      );
  const countInWindow = () =>
    update("ADD #n :one", "#w = :w AND #n < :max", { ":one": 1, ":w": windowStart, ":max": perWindow });
  // One conditional write per request: count it in the current window while room is left ...
  if (await countInWindow()) return "allowed";
  // ... or open the window when the stored one is older (or none was ever opened) ...
  if (
    await update("SET #w = :w, #n = :one", "attribute_not_exists(#w) OR #w < :w", {
      ":one": 1,
      ":w": windowStart,
    })
  )
    return "allowed";
  // ... or, when requests arriving together all found the window closed and another one opened
  // it between this request's two writes, count it in that window after all (at most 3 writes).
  if (await countInWindow()) return "allowed";
  return { retryAfterMs: windowStart + windowMs - now };
}
