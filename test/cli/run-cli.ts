import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import type { TestStack } from "../helpers/local-stack.js";

const BIN = fileURLToPath(new URL("../../bin/trace-stream.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when some output satisfies `test`. */
  waitFor(test: (output: { stdout: string; stderr: string }) => boolean, timeoutMs?: number): Promise<void>;
  readonly done: Promise<CliResult>;
}

/** The environment of a clean shell: no TRACE_STREAM_* or colour settings inherited from the test runner. */
function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("TRACE_STREAM_") || name === "FORCE_COLOR" || name === "NO_COLOR") continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Spawns the CLI exactly as `npx trace-stream` would: node running the package's bin shim. */
export function startCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(options.env ?? {}),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    notify();
  });
  child.stdin?.end(options.input ?? "");
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor(test, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!test({ stdout, stderr })) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`no matching output within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
        }, timeoutMs);
        const onClose = () => {
          cleanup();
          reject(new Error(`the CLI exited first\nstdout: ${stdout}\nstderr: ${stderr}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("close", onClose);
        };
        listeners.add(check);
        child.once("close", onClose);
        check();
      });
    },
  };
}

export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Flags-free configuration: the stack's endpoints through the CLI's environment variables. */
export function stackEnv(stack: TestStack): Record<string, string> {
  return {
    TRACE_STREAM_URL: stack.endpoints.webSocketUrl,
    TRACE_STREAM_EVENTBRIDGE_ENDPOINT: stack.endpoints.eventBridge,
    TRACE_STREAM_DYNAMODB_ENDPOINT: stack.endpoints.dynamodb,
    TRACE_STREAM_CONNECTIONS_ENDPOINT: stack.endpoints.managementEndpoint,
    TRACE_STREAM_TABLE: stack.tableName,
    TRACE_STREAM_BUS: stack.busName,
    TRACE_STREAM_SOURCE: stack.source,
    TRACE_STREAM_JWT_SECRET: stack.secret,
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A user never sees a stack trace. */
export const STACK_TRACE = /\n\s+at .+\(.+:\d+:\d+\)/;

/** Runs the CLI in this process (same code as the binary but for the process wiring): for the many quick cases. */
export async function runCliInProcess(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<CliResult> {
  const { runCli: run } = await import("../../bin/commands/cli.js");
  const { Readable } = await import("node:stream");
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    env: options.env ?? {},
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([options.input ?? ""]),
    signal: new AbortController().signal,
  });
  return { code, signal: null, stdout, stderr };
}
