/**
 * The baseline: fan-out built the way the common AWS WebSocket sample (simple-websockets-chat-app)
 * does it, adapted to one-trace-per-connection. It is written here from that description, for the
 * benchmark only; it is not product code.
 *
 * - The table holds one item per connection (`connectionId`, `traceId`), as the sample's
 *   `onconnect` writes it.
 * - Each event Scans the whole table (eventually consistent, the SDK default) and keeps the items
 *   of the event's trace with a FilterExpression: DynamoDB still reads, and bills, every item.
 *   Unlike the sample we follow `LastEvaluatedKey`: the sample reads one 1 MB page and silently
 *   skips every connection after it.
 * - Every post starts at once (`Promise.all`, no bound), with the SDK's default client (3
 *   attempts); a 410 deletes the stale item, any other error fails the whole call.
 * - Nothing is validated, redacted or stored, so there is nothing to replay.
 */
import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";

export const BASELINE_TABLE = "sample-connections";

export function baselineTableInput(tableName = BASELINE_TABLE): CreateTableCommandInput {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: "connectionId", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "connectionId", KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  };
}

export interface SampleBroadcastDeps {
  readonly dynamo: DynamoDBDocumentClient;
  readonly management: ApiGatewayManagementApiClient;
  readonly tableName?: string;
}

/** Sends one trace event (an EventBridge `detail`) to every connection of its trace. */
export function makeSampleBroadcast(deps: SampleBroadcastDeps) {
  const tableName = deps.tableName ?? BASELINE_TABLE;
  const encoder = new TextEncoder();
  return async function broadcast(detail: { trace_id: string }): Promise<number> {
    const connectionIds: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await deps.dynamo.send(
        new ScanCommand({
          TableName: tableName,
          ProjectionExpression: "connectionId",
          FilterExpression: "traceId = :traceId",
          ExpressionAttributeValues: { ":traceId": detail.trace_id },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) connectionIds.push(String(item.connectionId));
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    const data = encoder.encode(JSON.stringify({ type: "event", ...detail }));
    await Promise.all(
      connectionIds.map(async (connectionId) => {
        try {
          await deps.management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
        } catch (error) {
          if (!(error instanceof GoneException)) throw error;
          await deps.dynamo.send(new DeleteCommand({ TableName: tableName, Key: { connectionId } }));
        }
      }),
    );
    return connectionIds.length;
  };
}
