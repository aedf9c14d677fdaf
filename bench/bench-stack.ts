import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { BatchWriteCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type LocalStack, startLocalStack } from "../local/index.js";
import { DynamoMeter } from "./dynamo-meter.js";
import { BASELINE_TABLE, baselineTableInput } from "./sample-baseline.js";

export const BENCH_CREDENTIALS = { accessKeyId: "bench", secretAccessKey: "bench" };
const credentials = BENCH_CREDENTIALS;

/** The local stack the whole run measures, with the SDK clients the scenarios share. */
export interface BenchStack {
  readonly stack: LocalStack;
  /** Every command through `meteredDynamo` is counted here. */
  readonly meter: DynamoMeter;
  readonly meteredDynamo: DynamoDBDocumentClient;
  /** For seeding data; not counted. */
  readonly dynamo: DynamoDBDocumentClient;
  readonly eventBridge: EventBridgeClient;
  /** The SDK's default client, as the sample builds it (3 attempts). */
  readonly sampleManagement: ApiGatewayManagementApiClient;
  /** Environment for the product's own SDK client factories. */
  readonly env: Record<string, string>;
  url(traceId: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the local stack the bench measures, with the construct's `fanOut` (default "direct"). */
export async function startBenchStack(fanOut: "direct" | "stream" = "direct"): Promise<BenchStack> {
  const stack = await startLocalStack({
    ports: { webSocket: 0, eventBridge: 0, dynamodb: 0, tokenApi: 0 },
    quiet: true,
    sweepIntervalMs: 0,
    fanOut,
  });
  const region = stack.region;
  const rawMetered = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region, credentials });
  const meter = new DynamoMeter();
  meter.attach(rawMetered);
  const marshallOptions = { removeUndefinedValues: true };
  const meteredDynamo = DynamoDBDocumentClient.from(rawMetered, { marshallOptions });
  const raw = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region, credentials });
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions });
  await raw.send(new CreateTableCommand(baselineTableInput()));
  const eventBridge = new EventBridgeClient({ endpoint: stack.endpoints.eventBridge, region, credentials });
  const sampleManagement = new ApiGatewayManagementApiClient({
    endpoint: stack.endpoints.managementEndpoint,
    region,
    credentials,
  });
  const tokens = new Map<string, string>();
  return {
    stack,
    meter,
    meteredDynamo,
    dynamo,
    eventBridge,
    sampleManagement,
    env: {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    async url(traceId) {
      let token = tokens.get(traceId);
      if (token === undefined) {
        token = await stack.mintToken(traceId, 4 * 3600);
        tokens.set(traceId, token);
      }
      return stack.connectUrl(traceId, token);
    },
    async stop() {
      for (const client of [meteredDynamo, dynamo, eventBridge, sampleManagement]) client.destroy();
      await stack.stop();
    },
  };
}

/** Writes items 25 at a time, resending what DynamoDB leaves unprocessed. */
export async function batchPut(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
  parallel = 8,
): Promise<void> {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      let requests = (chunks[next++] ?? []).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const result = await dynamo.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export { BASELINE_TABLE };
