/**
 * The README's shell blocks, run as written. Each block is either run here or listed with the
 * reason it is not (a new block fails until it is one or the other). What differs from a reader's
 * terminal, and nothing else: the stack listens on free ports, so the README's default ports
 * (3000, 3001, 4010, 8000) are replaced by the test stack's and the CLI's TRACE_STREAM_*
 * variables point at it; `CONNECTION_ID` (a placeholder the README explains) becomes the id of a
 * socket this test opens; npm runs offline so `npx` can only use this repository's CLI.
 *
 * The AWS CLI block runs once under each AWS CLI major found on this machine (v1: `aws` from pip,
 * as the image ships it; v2: Debian's `awscli`, which .ci/run installs). Without any AWS CLI the
 * block is skipped with a warning, unless REQUIRE_AWS_CLI=1 (CI), where a missing major fails.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENTS } from "../../bin/commands/demo-run.js";
import { keys, PARTITION_KEY, SORT_KEY } from "../../lib/table-design.js";
import { openSubscriber, type Subscriber, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { runCli, stackEnv } from "./run-cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

interface Block {
  /** The first line: how a block is recognised below. */
  readonly first: string;
  readonly text: string;
}

function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const match of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)) {
    const text = match[1] as string;
    blocks.push({ first: text.split("\n")[0] as string, text });
  }
  return blocks;
}

/** Blocks not run here, by their first line, with why. */
const NOT_RUN: ReadonlyArray<readonly [string, string]> = [
  [
    "npm ci && npm start",
    "the stack on the default ports; test/cli/npm-start.test.ts runs `npm start` on free ports",
  ],
  ["pip install ./python", "installs into the reader's Python; test/python runs the package from its source"],
  ["npm ci", "deploys to an AWS account; test/cdk synthesizes the same stack offline"],
  ["export TRACE_STREAM_TARGET=aws", "needs a deployed stack"],
  ["npm test", "the test suite and its checks themselves"],
];
const QUICK_START = "trace=demo-$(node -p 'crypto.randomUUID()')";
const AWS_CLI_BLOCK = "export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local";

function block(first: string): Block {
  const found = shellBlocks(README).find((candidate) => candidate.first.startsWith(first));
  if (found === undefined) throw new Error(`no README block starts with ${JSON.stringify(first)}`);
  return found;
}

/** Commands of a block: continuation lines joined, blank lines dropped. */
function commands(text: string): string[] {
  const result: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    current = current === "" ? line : `${current}\n${line}`;
    if (line.endsWith("\\")) continue;
    if (current.trim() !== "") result.push(current);
    current = "";
  }
  return result;
}

interface CommandResult {
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the commands in one bash, in order, as a reader pastes them; each one's output and status. */
async function runBlock(
  list: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ results: CommandResult[]; variables: Record<string, string> }> {
  const marker = `::end-${process.pid}-${Date.now()}`;
  const script = [
    ...list.flatMap((command) => [command, `code=$?; echo "${marker} $code"; echo "${marker}" >&2`]),
    `echo "${marker}-vars trace=\${trace:-}"`,
  ].join("\n");
  const child = spawn("bash", ["-c", script], {
    cwd: ROOT,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  const outs = stdout.split(new RegExp(`${marker} (\\d+)\\n`));
  const errs = stderr.split(`${marker}\n`);
  const results = list.map((command, index) => ({
    command,
    stdout: outs[index * 2] ?? "",
    code: Number(outs[index * 2 + 1] ?? Number.NaN),
    stderr: errs[index] ?? "",
  }));
  const variables = Object.fromEntries(
    [...stdout.matchAll(new RegExp(`${marker}-vars (\\w+)=(\\S*)`, "g"))].map((match) => [
      match[1],
      match[2],
    ]),
  ) as Record<string, string>;
  return { results, variables };
}

/** The environment of a fresh terminal: nothing of AWS or trace-stream from the test runner. */
function readerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AWS_") || name.startsWith("TRACE_STREAM_") || name.startsWith("npm_")) continue;
    env[name] = value;
  }
  return { ...env, npm_config_offline: "true", NO_COLOR: "1", ...extra };
}

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe("README shell blocks", () => {
  it("are each run by this test or listed with the reason they are not", () => {
    const known = [QUICK_START, AWS_CLI_BLOCK, ...NOT_RUN.map(([first]) => first)];
    const unknown = shellBlocks(README)
      .map((candidate) => candidate.first)
      .filter((first) => !known.some((start) => first.startsWith(start)));
    expect(unknown).toEqual([]);
    for (const start of known) expect(() => block(start)).not.toThrow();
  });

  it("the quick start: demo with a fresh id, then tail of the same id, as written", async () => {
    const list = commands(block(QUICK_START).text);
    const env = readerEnv(stackEnv(stack));
    const { results, variables } = await runBlock(list, { env, timeoutMs: 120_000 });
    for (const result of results) expect(result.code, `${result.command}\n${result.stderr}`).toBe(0);
    const [, demo, tail] = results as [CommandResult, CommandResult, CommandResult];
    expect(variables.trace).toMatch(/^demo-[0-9a-f-]{36}$/);
    expect(demo.stdout).toContain(`trace   ${variables.trace}`);
    expect(demo.stdout).toContain(`done: ${DEMO_EVENTS.length} events delivered`);
    expect(tail.stdout.trim().split("\n")).toHaveLength(DEMO_EVENTS.length);
    expect(tail.stderr).toContain("-- trace ended (plan_completed)");
  }, 150_000);
});

/** Paths the README names that a build or a test writes, rather than the repository holding them. */
const GENERATED = new Map([
  ["web/dist", "`npm run build:web` writes it"],
  ["test-artifacts/viewer.png", "the browser test writes it"],
]);

/** Files and folders a document names: links, and code spans that look like repository paths. */
function namedPaths(markdown: string): string[] {
  const named = new Set<string>();
  for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const path = (target as string).split("#")[0] as string;
    if (path !== "" && !/^[a-z]+:/.test(path)) named.add(path);
  }
  for (const [, span] of markdown.matchAll(/`([^`\s]+)`/g)) {
    const text = span as string;
    // Package specifiers (`trace-stream/client`, `@opentelemetry/api`) are not paths.
    if (text.startsWith("@") || text.startsWith("trace-stream/")) continue;
    const pathShaped = /^[\w.-]+(?:\/[\w.*-]+)*\/?$/.test(text);
    if (pathShaped && (text.includes("/") || /^[\w-]+\.md$/.test(text))) named.add(text);
  }
  return [...named];
}

describe("README and docs/", () => {
  it.each([
    ["README.md", ""],
    ["docs/benchmarks.md", "docs"],
  ])("%s names only files the repository has (or that a build or test writes)", (document, dir) => {
    const markdown = readFileSync(join(ROOT, document), "utf8");
    const missing = namedPaths(markdown).filter((path) => {
      if (GENERATED.has(path)) return false;
      // Links are relative to the document; code spans name paths from the repository's root.
      return !existsSync(join(ROOT, dir, path)) && !existsSync(join(ROOT, path));
    });
    expect(missing).toEqual([]);
  });

  it("keeps the benchmark tables in docs/benchmarks.md, linked from the README", () => {
    expect(README).toContain("[docs/benchmarks.md](docs/benchmarks.md)");
    expect(README).not.toMatch(/^\| N \| ms\/event ours/m);
    expect(readFileSync(join(ROOT, "docs/benchmarks.md"), "utf8")).toMatch(/^\| N \| ms\/event ours/m);
  });

  it("lists the prerequisites, with the Node version package.json requires", () => {
    const engines = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }
    ).engines.node;
    const section = /^## Prerequisites\n([\s\S]*?)^## /m.exec(README)?.[1] ?? "";
    const minimum = /^>=\s*(\d+(?:\.\d+)*)$/.exec(engines)?.[1];
    expect(minimum, `engines.node ${engines}`).toBeDefined();
    expect(section).toContain(`Node.js ${minimum} or later`);
    for (const what of ["AWS CLI, v1 or v2", "Chromium", "Python 3.9+ with boto3 and pytest"]) {
      expect(section).toContain(what);
    }
  });
});

/** Every AWS CLI on this machine, one per major version. */
function awsClis(): Map<1 | 2, string> {
  const found = new Map<1 | 2, string>();
  const candidates = [
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "aws")),
    "/usr/bin/aws",
    "/usr/local/bin/aws",
  ];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    let version = "";
    try {
      version = execFileSync(candidate, ["--version"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      version = String((error as { stdout?: string; stderr?: string }).stderr ?? "");
    }
    const major = /aws-cli\/(\d+)\./.exec(version)?.[1];
    if ((major === "1" || major === "2") && !found.has(Number(major) as 1 | 2)) {
      found.set(Number(major) as 1 | 2, candidate);
    }
  }
  return found;
}

const clis = awsClis();
const awsCliRequired = process.env.REQUIRE_AWS_CLI === "1";
if (clis.size < 2 && !awsCliRequired) {
  console.warn(
    `README test: AWS CLI ${[1, 2].filter((major) => !clis.has(major as 1 | 2)).join(" and ")} not found: ` +
      "the AWS CLI block runs only under the majors found. Install v2 with `apt-get install awscli`, v1 with " +
      "`pip install awscli`; REQUIRE_AWS_CLI=1 makes this a failure.",
  );
}

describe("README: the local stack's AWS CLI commands", () => {
  it.runIf(awsCliRequired)("has both AWS CLI majors to run them with (REQUIRE_AWS_CLI=1)", () => {
    expect([...clis.keys()].sort()).toEqual([1, 2]);
  });

  describe.each([1, 2].filter((major) => clis.has(major as 1 | 2)))("under AWS CLI v%i", (major) => {
    let watcher: Subscriber;
    let bin: string;

    beforeAll(async () => {
      // A socket to address with CONNECTION_ID; the README names `trace-stream connections` to find one.
      const watched = `readme-watch-${major}-${Date.now()}`;
      watcher = await openSubscriber(stack.connectUrl(watched, await stack.mintToken(watched, 600)));
      bin = mkdtempSync(join(tmpdir(), "readme-aws-"));
      symlinkSync(clis.get(major as 1 | 2) as string, join(bin, "aws"));
    });

    afterAll(async () => {
      await watcher?.close();
      if (bin !== undefined) rmSync(bin, { recursive: true, force: true });
    });

    it("run as written: the event is stored with a current timestamp, posts reach the socket, nothing conflicts", async () => {
      const connectionId = await connectionOf(watcher);

      const ports = {
        3000: "127.0.0.1:9", // no viewer here; the README only prints its link
        3001: new URL(stack.endpoints.managementEndpoint).host,
        4010: new URL(stack.endpoints.eventBridge).host,
        8000: new URL(stack.endpoints.dynamodb).host,
      };
      const list = commands(block(AWS_CLI_BLOCK).text).map((command) =>
        command
          .replaceAll(
            /127\.0\.0\.1:(3000|3001|4010|8000)\b/g,
            (_all, port: keyof typeof ports) => ports[port],
          )
          .replaceAll("CONNECTION_ID", connectionId),
      );
      const env = readerEnv({
        PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`,
        AWS_CONFIG_FILE: join(bin, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(bin, "no-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_PAGER: "",
      });
      const started = Date.now();
      const { results, variables } = await runBlock(list, { env, timeoutMs: 120_000 });

      for (const result of results) {
        const refusedQueryProtocol =
          result.command.startsWith("aws sqs") && /UnsupportedProtocol/.test(result.stdout + result.stderr);
        // An AWS CLI that still sends SQS's query protocol gets the emulator's clear refusal, as the README says.
        if (refusedQueryProtocol) expect(result.stdout + result.stderr).toContain("AWS JSON protocols only");
        else expect(result.code, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
      }
      const putEvents = results.find((result) => result.command.startsWith("aws events put-events"));
      expect(JSON.parse(putEvents?.stdout ?? "{}")).toMatchObject({ FailedEntryCount: 0 });
      await watcher.waitFor((frame) => frame.type === "pong");

      const trace = variables.trace as string;
      expect(trace).toMatch(/^hello-[0-9a-f-]{36}$/);
      await stack.deliveriesIdle();
      const stored = await stack.clients.dynamo.send(
        new GetCommand({
          TableName: stack.tableName,
          Key: { [PARTITION_KEY]: keys.trace(trace), [SORT_KEY]: keys.event(0) },
        }),
      );
      const event = JSON.parse(String(stored.Item?.payload)) as { timestamp: string; trace_id: string };
      expect(event.trace_id).toBe(trace);
      // A current timestamp (whole seconds), so the viewer's elapsed time starts near zero.
      expect(Date.parse(event.timestamp)).toBeGreaterThan(started - 2_000);
      expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(Date.now());
      expect(stack.deadLetters().filter((letter) => JSON.stringify(letter.payload).includes(trace))).toEqual(
        [],
      );
    }, 150_000);
  });
});

/** The connection id of a socket: the subscription the stack stored for it. */
async function connectionOf(subscriber: Subscriber): Promise<string> {
  const url = new URL(subscriber.socket.url);
  const trace = url.searchParams.get("traceId") as string;
  const listed = await runCli(["connections", trace, "--json"], { env: stackEnv(stack) });
  const id = (JSON.parse(listed.stdout) as { connections: Array<{ connection_id: string }> }).connections[0]
    ?.connection_id;
  if (id === undefined)
    throw new Error(`no connection listed for ${trace}: ${listed.stdout}${listed.stderr}`);
  return id;
}
