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
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENTS } from "../../bin/commands/demo-run.js";
import { keys, PARTITION_KEY, SORT_KEY } from "../../lib/table-design.js";
import { openSubscriber, type Subscriber, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { stackEnv } from "./run-cli.js";
import {
  awsCliEnv,
  awsClis,
  type CommandResult,
  commands,
  connectionOf,
  ROOT,
  readerEnv,
  refusedQueryProtocol,
  runBlock,
} from "./shell-commands.js";

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
  [
    "# curl signs with your credentials",
    "calls a deployed token endpoint; test/local/token-endpoint.test.ts and the dev banner's curl check the same request locally",
  ],
  ["aws cloudformation describe-stack-resources", "reads a deployed stack's resources"],
  ["npm run build:packages", "test/packaging builds and packs every package and installs the tarballs"],
];
const QUICK_START = "trace=demo-$(node -p 'crypto.randomUUID()')";
const AWS_CLI_BLOCK = "export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local";

function block(first: string): Block {
  const found = shellBlocks(README).find((candidate) => candidate.first.startsWith(first));
  if (found === undefined) throw new Error(`no README block starts with ${JSON.stringify(first)}`);
  return found;
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
  ["web/dist/index.html", "`npm run build:web` writes it"],
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
    let aws: { env: NodeJS.ProcessEnv; dir: string };

    beforeAll(async () => {
      // A socket to address with CONNECTION_ID; the README names `trace-stream connections` to find one.
      const watched = `readme-watch-${major}-${Date.now()}`;
      watcher = await openSubscriber(stack.connectUrl(watched, await stack.mintToken(watched, 600)));
      aws = awsCliEnv(clis.get(major as 1 | 2) as string);
    });

    afterAll(async () => {
      await watcher?.close();
      if (aws !== undefined) rmSync(aws.dir, { recursive: true, force: true });
    });

    it("run as written: the event is stored with a current timestamp, posts reach the socket, nothing conflicts", async () => {
      const connectionId = await connectionOf(watcher, stackEnv(stack));

      const ports = {
        3000: "127.0.0.1:9", // no viewer here; the README only prints its link
        3001: new URL(stack.endpoints.managementEndpoint).host,
        4010: new URL(stack.endpoints.eventBridge).host,
        8000: new URL(stack.endpoints.dynamodb).host,
        3002: new URL(stack.endpoints.tokenEndpoint).host,
      };
      const list = commands(block(AWS_CLI_BLOCK).text).map((command) =>
        command
          .replaceAll(
            /127\.0\.0\.1:(3000|3001|3002|4010|8000)\b/g,
            (_all, port: keyof typeof ports) => ports[port],
          )
          .replaceAll("CONNECTION_ID", connectionId),
      );
      const started = Date.now();
      const { results, variables } = await runBlock(list, { env: aws.env, timeoutMs: 120_000 });
      for (const result of results) {
        // An AWS CLI that still sends SQS's query protocol gets the emulator's clear refusal, as the README says.
        if (refusedQueryProtocol(result)) continue;
        expect(result.code, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
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
