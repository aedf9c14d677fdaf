import { mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
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
  readonly dataDir?: string | undefined;
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
  const unlock = options.dataDir ? await lockDataDir(options.dataDir) : async () => undefined;
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let port: number;
  try {
    port = await listen(server, "DynamoDB (dynalite)", options.host, options.port);
  } catch (error) {
    await unlock();
    throw error;
  }
  const endpoint = httpUrl(options.host, port);
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  const documentClient = DynamoDBDocumentClient.from(client);
  const close = async () => {
    documentClient.destroy();
    try {
      await closeServer(server);
    } finally {
      await unlock();
    }
  };
  try {
    await ensureTable(client, options);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { endpoint, port, tableName: options.tableName, documentClient, close };
}

/** Data directories held by stacks in this process (LevelDB allows one opener at a time). */
const heldDataDirs = new Set<string>();

/**
 * Takes `trace-stream-local.lock` in the data directory, so a second stack on the same data
 * fails at once with a clear message instead of deep inside LevelDB. A lock left by a process
 * that is gone is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const file = join(dir, "trace-stream-local.lock");
  const inUse = () =>
    new LocalStackError(
      `the data directory ${dir} is in use by another local stack; stop it or use another dataDir`,
    );
  if (heldDataDirs.has(dir)) throw inUse();
  try {
    await writeFile(file, String(process.pid), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (owner !== process.pid && isAlive(owner)) throw inUse();
    await writeFile(file, String(process.pid));
  }
  heldDataDirs.add(dir);
  return async () => {
    heldDataDirs.delete(dir);
    await unlink(file).catch(() => undefined);
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
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
      throw new LocalStackError(`cannot open the DynamoDB data in ${dataDir}: ${String(error)}`, {
        cause: error,
      });
    }
    throw error;
  }
}
