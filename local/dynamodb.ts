import { fork } from "node:child_process";
import { mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createTableInput } from "../lib/table-design.js";
import type { DynaliteProcessReply, DynaliteProcessRequest } from "./dynalite-process.js";
import { httpUrl, LocalStackError, PortInUseError } from "./http-server.js";
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
  /** The process dynalite runs in (a child of this one). */
  readonly pid: number;
  /** A document client for the stack's own use (TTL sweeper, tests). */
  readonly documentClient: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** Credentials the local services accept (they do not check signatures). */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/**
 * dynalite on `host:port` with the trace-stream table, in a child process of its own. With a
 * `dataDir` an existing table is kept as it is; otherwise it is created from `createTableInput`.
 */
export async function startDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  const lock = options.dataDir ? await lockDataDir(options.dataDir) : undefined;
  let dynalite: DynaliteProcess;
  try {
    dynalite = await startDynaliteProcess(options);
  } catch (error) {
    await lock?.release();
    throw error;
  }
  await lock?.heldBy(dynalite.pid);
  const endpoint = httpUrl(options.host, dynalite.port);
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  const documentClient = DynamoDBDocumentClient.from(client);
  const close = async () => {
    documentClient.destroy();
    try {
      await dynalite.stop();
    } finally {
      await lock?.release();
    }
  };
  try {
    await ensureTable(client, options);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return {
    endpoint,
    port: dynalite.port,
    tableName: options.tableName,
    pid: dynalite.pid,
    documentClient,
    close,
  };
}

interface DynaliteProcess {
  readonly pid: number;
  readonly port: number;
  /** Closes the child's IPC channel, which it takes as the order to stop; resolves when it has exited. */
  stop(): Promise<void>;
}

/** How long the child may take to load dynalite and listen (tsx compiles it first when run from source). */
const START_TIMEOUT_MS = 30_000;
/** How long a stopping child may take before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * Forks ./dynalite-process. A child process rather than a worker thread: it gets its own core and
 * heap like a worker would, but also its own fate. A crash of dynalite or of LevelDB's native code
 * ends the child alone, which the stack sees as DynamoDB going away (calls fail, the logger says
 * so) instead of dying with it; LevelDB's file lock belongs to the child, so the kernel releases
 * it whenever the child ends; and the child ends whenever the parent does, kill -9 included,
 * because it exits when its IPC channel closes.
 */
async function startDynaliteProcess(options: LocalDynamoDbOptions): Promise<DynaliteProcess> {
  const { log } = options;
  // Run from source (npm start, tests) the entry is TypeScript and needs tsx, a dependency of the
  // repository; the packaged CLI ships it compiled next to this file.
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = fileURLToPath(new URL(`./dynalite-process.${fromSource ? "ts" : "js"}`, import.meta.url));
  const execArgv = fromSource
    ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href]
    : [];
  const child = fork(entry, [], { execArgv, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderrTail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
    for (const line of chunk.split("\n")) if (line.trim()) log.debug(`dynalite: ${line.trimEnd()}`);
  });
  const said = () => (stderrTail.trim() ? `: ${stderrTail.trim()}` : "");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const request: DynaliteProcessRequest = {
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
  };
  const reply = await new Promise<DynaliteProcessReply>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new LocalStackError(`DynamoDB (dynalite) did not start within ${START_TIMEOUT_MS} ms${said()}`));
    }, START_TIMEOUT_MS);
    child.once("message", (message: DynaliteProcessReply) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new LocalStackError(`DynamoDB (dynalite) could not be started: ${error.message}`, { cause: error }),
      );
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new LocalStackError(`DynamoDB (dynalite) exited (${signal ?? code}) before it listened${said()}`),
      );
    });
    child.send(request);
  });
  if (reply.type === "failed") {
    await exited;
    if (reply.error === "PortInUseError")
      throw new PortInUseError("DynamoDB (dynalite)", options.host, options.port);
    throw new LocalStackError(reply.message);
  }

  let stopping = false;
  // Without a listener, a failed kill or send would be an uncaught 'error' that ends the stack.
  child.on("error", (error) => log.warn(`dynalite (pid ${child.pid}): ${error.message}`));
  child.once("exit", (code, signal) => {
    if (stopping) return;
    log.error(
      `dynalite (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`}); ` +
        `DynamoDB calls fail until the local stack is restarted${said()}`,
    );
  });
  return {
    pid: child.pid ?? 0,
    port: reply.port,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Data directories held by stacks in this process (LevelDB allows one opener at a time). */
const heldDataDirs = new Set<string>();

interface DataDirLock {
  /** Records the dynalite child that has the data open, so a stack after a crash waits for it to go. */
  heldBy(childPid: number): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes `trace-stream-local.lock` in the data directory, so a second stack on the same data
 * fails at once with a clear message instead of deep inside LevelDB. The file names this process
 * and its dynalite child. A lock left by a process that is gone is taken over, once its child (which
 * exits when its parent is gone) has let go of the data too.
 */
async function lockDataDir(dataDir: string): Promise<DataDirLock> {
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
    const [owner, child] = (await readFile(file, "utf8").catch(() => "")).trim().split(/\s+/).map(Number);
    if (owner !== process.pid && isAlive(owner)) throw inUse();
    if (child !== undefined && !(await exitsWithin(child, STOP_TIMEOUT_MS))) throw inUse();
    await writeFile(file, String(process.pid));
  }
  heldDataDirs.add(dir);
  return {
    heldBy: (childPid) => writeFile(file, `${process.pid} ${childPid}`),
    release: async () => {
      heldDataDirs.delete(dir);
      await unlink(file).catch(() => undefined);
    },
  };
}

async function exitsWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
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
