import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Starts one of the bench's clients (the subscriber pool, the latency producer) as a child process
 * running its TypeScript source through tsx, talking to this process over IPC with structured
 * clone. A process rather than a worker thread: it runs on the other core just the same, and its
 * memory is its own, so the RSS reported for the stack is the stack's, not its measuring clients'.
 * It exits when this process goes away (IPC disconnect).
 */
export function startClientProcess(entry: URL): ChildProcess {
  return fork(fileURLToPath(entry), [], {
    execArgv: ["--import", import.meta.resolve("tsx")],
    serialization: "advanced",
    // The SDK's Node 22 notice, once per client process, would bury the bench's progress lines.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}

/** The pids of the client processes running now, which `processTreeRssMb` leaves out. */
export const clientPids = new Set<number>();

/** Registers a started client's pid until it exits. */
export function trackClient(child: ChildProcess): ChildProcess {
  if (child.pid !== undefined) {
    const pid = child.pid;
    clientPids.add(pid);
    child.once("exit", () => clientPids.delete(pid));
  }
  return child;
}
