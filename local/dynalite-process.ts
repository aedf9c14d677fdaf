/**
 * The child process that runs dynalite for the local stack (started by `startDynamoDb` in
 * ./dynamodb.ts through `fork`, never imported). It listens where the parent asks, says on which
 * port, and lives exactly as long as its IPC channel to the parent: when the parent closes it
 * (`close()`) or dies (even `kill -9`, which the kernel turns into a closed channel), dynalite stops
 * taking requests and the process exits, releasing LevelDB's lock on the data directory.
 */
import type { Server } from "node:http";
import dynalite from "dynalite";
import { closeServer, listen } from "./http-server.js";

/** What the parent sends, once: where to listen and what to keep. */
export interface DynaliteProcessRequest {
  readonly host: string;
  readonly port: number;
  readonly dataDir?: string | undefined;
}

/** What the child answers, once. `error` is the name of the local stack's error class, if any. */
export type DynaliteProcessReply =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "failed"; readonly error: string; readonly message: string };

if (!process.send) {
  process.stderr.write("dynalite-process is started by the local stack (fork with IPC), not by hand\n");
  process.exit(2);
}

const reply = (message: DynaliteProcessReply) =>
  new Promise<void>((resolve) => process.send?.(message, undefined, undefined, () => resolve()));
let server: Server | undefined;
let stopping = false;

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Requests in flight get closeServer's grace; then the process goes, and LevelDB's lock with it.
  if (server) await closeServer(server).catch(() => undefined);
  process.exit(0);
}

async function start({ host, port, dataDir }: DynaliteProcessRequest): Promise<void> {
  server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await reply({ type: "listening", port: await listen(server, "DynamoDB (dynalite)", host, port) });
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    await reply({ type: "failed", error: name, message });
    process.exit(1);
  }
}

process.on("disconnect", () => void stop());
// Ctrl+C reaches the whole foreground process group; the parent stops the stack in order (the last
// $disconnect writes still reach DynamoDB) and then closes this child, so the signal is not for it.
process.on("SIGINT", () => undefined);
process.once("message", (request: DynaliteProcessRequest) => void start(request));
