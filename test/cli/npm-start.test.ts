/**
 * `npm start` as people run it: npm, its shell, the dev server and whatever that starts. A signal
 * to npm (SIGTERM from a supervisor or an IDE, SIGINT to the whole group from a terminal's Ctrl-C)
 * must stop all of it and free every port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FREE_PORTS = [
  "--websocket-port",
  "0",
  "--eventbridge-port",
  "0",
  "--dynamodb-port",
  "0",
  "--viewer-port",
  "0",
];

/** Every live process below `root`, from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) in parentheses: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && !found.includes(pid)) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    // A zombie still answers signal 0 but holds nothing; /proc says which it is.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function waitUntil(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (test()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return test();
}

interface Started {
  readonly npm: ChildProcess;
  readonly ports: number[];
  readonly processes: number[];
  output(): string;
  /** npm's own exit (not 'close': a survivor would keep its output pipes open). */
  readonly exited: Promise<void>;
}

/** `npm start` in its own process group (as a terminal runs a foreground job), up to its banner. */
async function startNpm(): Promise<Started> {
  const npm = spawn("npm", ["start", "--", ...FREE_PORTS], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  npm.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  npm.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
  const ready = await waitUntil(() => output.includes("Press Ctrl+C to stop."), 90_000);
  if (!ready) {
    process.kill(-(npm.pid as number), "SIGKILL");
    throw new Error(`npm start did not print its banner:\n${output}`);
  }
  const ports = ["Viewer", "WebSocket API", "EventBridge", "DynamoDB"].map((name) => {
    const port = new RegExp(`^ {2}${name} +\\w+://127\\.0\\.0\\.1:(\\d+)`, "m").exec(output)?.[1];
    if (port === undefined) throw new Error(`no ${name} port in the banner:\n${output}`);
    return Number(port);
  });
  return { npm, ports, processes: descendants(npm.pid as number), output: () => output, exited };
}

/** Whatever a failed assertion left running is ended, so one failure does not hold ports for the next test. */
function killAll(started: Started): void {
  for (const pid of [started.npm.pid as number, ...started.processes]) {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
}

describe("npm start", () => {
  it("stops everything and frees all four ports when npm alone gets SIGTERM", async () => {
    const started = await startNpm();
    try {
      for (const port of started.ports) expect(await canListen(port)).toBe(false);
      // npm, its shell, node running the CLI; the viewer may add more.
      expect(started.processes.length).toBeGreaterThanOrEqual(2);

      started.npm.kill("SIGTERM");
      await started.exited;
      const survivors = () => started.processes.filter(isAlive);
      expect(await waitUntil(() => survivors().length === 0, 20_000), `survivors: ${survivors()}`).toBe(true);
      for (const port of started.ports) expect(await canListen(port)).toBe(true);
    } finally {
      killAll(started);
    }
  }, 150_000);

  it("stops cleanly when the terminal's Ctrl-C signals the whole process group", async () => {
    const started = await startNpm();
    try {
      process.kill(-(started.npm.pid as number), "SIGINT");
      await started.exited;
      const survivors = () => started.processes.filter(isAlive);
      expect(await waitUntil(() => survivors().length === 0, 20_000), `survivors: ${survivors()}`).toBe(true);
      for (const port of started.ports) expect(await canListen(port)).toBe(true);
      // One Ctrl-C, even if delivered twice (by the terminal and by npm), is a clean stop.
      expect(started.output()).toMatch(/Stopping the local stack\.\.\.\s+Stopped\./);
    } finally {
      killAll(started);
    }
  }, 150_000);
});
