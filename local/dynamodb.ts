import { mkdir } from "node:fs/promises";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { createTableInput } from "../lib/table-design.js";
import { closeServer, httpUrl, LocalStackError, listen } from "./http-server.js";
import type { LocalLogger } from "./log.js";

export interface LocalDynamoDbOptions {
  readonly host: string;
  readonly port: number;
  readonly tableName: string;
  readonly region: string;
  /** LevelDB directory that keeps the data across restarts; in memory when absent. */
  readonly dataDir?: string;
  readonly log: LocalLogger;
}

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  readonly tableName: string;
  /** A document client for the stack's own use (TTL sweeper, tests). */
  readonly documentClient: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** Credentials the local services accept (they do not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/**
 * dynalite on `host:port` with the trace-stream table. With a `dataDir` an existing table is kept
 * as it is; otherwise it is created from `createTableInput`.
 */
export async function startDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server, "DynamoDB (dynalite)", options.host, options.port);
  const endpoint = httpUrl(options.host, port);
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  const documentClient = DynamoDBDocumentClient.from(client);
  const close = async () => {
    documentClient.destroy();
    await closeServer(server);
  };
  try {
    await ensureTable(client, options);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { endpoint, port, tableName: options.tableName, documentClient, close };
}

async function ensureTable(client: DynamoDBClient, options: LocalDynamoDbOptions): Promise<void> {
  const { tableName, dataDir, log } = options;
  const status = await describeStatus(client, tableName, dataDir);
  if (status === undefined) {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    log.debug(`created table ${tableName}${dataDir ? ` in ${dataDir}` : " (in memory)"}`);
  } else {
    log.info(`using existing table ${tableName} in ${dataDir}`);
  }
  for (let i = 0; i < 100; i++) {
    if ((await describeStatus(client, tableName, dataDir)) === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new LocalStackError(`table ${tableName} did not become ACTIVE in dynalite`);
}

async function describeStatus(
  client: DynamoDBClient,
  tableName: string,
  dataDir?: string,
): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    if (dataDir) {
      throw new LocalStackError(
        `cannot open the DynamoDB data in ${dataDir}; is another local stack using it? (${String(error)})`,
        { cause: error },
      );
    }
    throw error;
  }
}
