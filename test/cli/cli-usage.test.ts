import { readFileSync } from "node:fs";
import { decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../bin/commands/cli.js";
import { LOCAL_DEV_SECRET } from "../../local/index.js";
import { traceEventJsonSchema } from "../../protocol/json-schema.js";
import { runCli, runCliInProcess, STACK_TRACE } from "./run-cli.js";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";

describe("trace-stream --help", () => {
  it("lists every command and the exit codes", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toContain(`  ${command.name} `);
    expect(result.stdout).toMatch(/Exit codes:[\s\S]*3 {4}an endpoint could not be reached/);
  });

  it.each(COMMANDS.map((command) => command.name))(
    "`%s --help` prints its usage and exits 0",
    async (name) => {
      const result = await runCli([name, "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: trace-stream ${name}\\b`));
      expect(result.stdout).toContain("-h, --help");
    },
  );
});

describe("trace-stream --version", () => {
  it("prints the package's version and exits 0, as --version, -v and version", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    const result = await runCli(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `trace-stream ${version}\n`, stderr: "" });
    for (const spelling of ["-v", "version"]) {
      expect(await runCliInProcess([spelling])).toMatchObject({
        code: 0,
        stdout: `trace-stream ${version}\n`,
      });
    }
  });
});

describe("trace-stream schema", () => {
  it("prints the JSON Schema, the same as the committed schema/trace-event.schema.json", async () => {
    const result = await runCli(["schema"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(traceEventJsonSchema());
    const committed = readFileSync(new URL("../../schema/trace-event.schema.json", import.meta.url), "utf8");
    expect(result.stdout).toBe(committed);
  });
});

describe("trace-stream token", () => {
  it("mints an HS256 token for the traces with the configured secret and lifetime", async () => {
    const result = await runCli(["token", "--trace", "run-1", "--trace", "batch-*", "--ttl", "2h"], {
      env: { TRACE_STREAM_JWT_SECRET: SECRET },
    });
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET));
    expect(payload.traces).toEqual(["run-1", "batch-*"]);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(7200);
  });

  it("uses the local stack's development secret when none is configured", async () => {
    const result = await runCli(["token", "--trace", "run-1"]);
    expect(result.code).toBe(0);
    await expect(
      jwtVerify(result.stdout.trim(), new TextEncoder().encode(LOCAL_DEV_SECRET)),
    ).resolves.toBeDefined();
    expect(decodeJwt(result.stdout.trim()).sub).toBe("trace-stream-dev");
  });
});

interface BadInput {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly code: number;
  readonly message: RegExp;
}

const BAD_INPUTS: readonly BadInput[] = [
  { name: "no command", args: [], code: 2, message: /Usage: trace-stream <command>/ },
  {
    name: "an unknown command",
    args: ["frobnicate"],
    code: 2,
    message: /unknown command "frobnicate"; commands: dev, demo/,
  },
  {
    name: "an unknown option",
    args: ["token", "--trace", "a", "--bogus"],
    code: 2,
    message: /token: unknown option --bogus/,
  },
  {
    name: "a flag without its value",
    args: ["token", "--trace"],
    code: 2,
    message: /option --trace needs a value/,
  },
  { name: "token without --trace", args: ["token"], code: 2, message: /token: --trace is required/ },
  {
    name: "token with a bad trace id",
    args: ["token", "--trace", "no spaces"],
    code: 2,
    message: /--trace "no spaces" is not a valid trace id/,
  },
  {
    name: "token with a bad --ttl",
    args: ["token", "--trace", "a", "--ttl", "soon"],
    code: 2,
    message: /--ttl must be a positive duration like 90s, 15m, 1h or 7d, got "soon"/,
  },
  {
    name: "token with a zero --ttl",
    args: ["token", "--trace", "a", "--ttl", "0s"],
    code: 2,
    message: /--ttl must be a positive/,
  },
  {
    name: "token with a --ttl past the authorizer's lifetime cap",
    args: ["token", "--trace", "a", "--ttl", "7d"],
    code: 2,
    message: /--ttl must be at most 1d \(86400 s\): the authorizer refuses tokens that live longer, got "7d"/,
  },
  {
    name: "a secret too short to sign with",
    args: ["token", "--trace", "a"],
    env: { TRACE_STREAM_JWT_SECRET: "short" },
    code: 2,
    message: /TRACE_STREAM_JWT_SECRET must be at least 32 characters/,
  },
  { name: "tail without a trace id", args: ["tail"], code: 2, message: /tail: <traceId> is required/ },
  {
    name: "tail with a bad trace id",
    args: ["tail", "bad id!"],
    code: 2,
    message: /<traceId> "bad id!" is not a valid trace id/,
  },
  { name: "tail with two trace ids", args: ["tail", "a", "b"], code: 2, message: /unexpected argument "b"/ },
  {
    name: "tail with a negative --from",
    args: ["tail", "a", "--from=-1"],
    code: 2,
    message: /--from must be ≥ 0, got -1/,
  },
  {
    name: "tail with a negative --from as its own argument",
    args: ["tail", "a", "--from", "-1"],
    code: 2,
    message: /--from must be ≥ 0, got -1/,
  },
  {
    name: "tail with a --from that is not a number",
    args: ["tail", "a", "--from", "soon"],
    code: 2,
    message: /--from must be a whole number from 0 to 9999999999, got "soon"/,
  },
  {
    name: "a value that looks like an option",
    args: ["tail", "a", "--token", "-abc"],
    code: 2,
    message: /option --token needs a value \(for a value starting with "-", write --token=VALUE\)/,
  },
  {
    name: "tail with an empty trace id",
    args: ["tail", ""],
    code: 2,
    message: /tail: <traceId> must not be empty/,
  },
  {
    name: "tail with a non-WebSocket --url",
    args: ["tail", "a", "--url", "http://x"],
    code: 2,
    message: /--url must start with ws:\/\/ or wss:\/\//,
  },
  {
    name: "an unknown --target",
    args: ["tail", "a", "--target", "prod"],
    code: 2,
    message: /--target must be "local" or "aws"/,
  },
  {
    name: "tail against AWS without a URL",
    args: ["tail", "a", "--target", "aws"],
    code: 2,
    message: /the WebSocket URL is not set: pass --url or set TRACE_STREAM_URL/,
  },
  {
    name: "emit with bad --metadata JSON",
    args: ["emit", "--trace", "a", "--event", "plan_created", "--seq", "0", "--metadata", "{goal:"],
    code: 2,
    message: /--metadata is not valid JSON/,
  },
  {
    name: "emit with --metadata that is not an object",
    args: ["emit", "--trace", "a", "--event", "plan_created", "--seq", "0", "--metadata", "[1]"],
    code: 2,
    message: /--metadata must be a JSON object/,
  },
  {
    name: "emit with bad JSON on stdin",
    args: ["emit", "--file", "-"],
    input: "not json",
    code: 2,
    message: /--file is not valid JSON/,
  },
  {
    name: "emit with a missing file",
    args: ["emit", "--file", "/nonexistent/event.json"],
    code: 2,
    message: /cannot read --file \/nonexistent\/event.json: no such file/,
  },
  {
    name: "emit without --seq",
    args: ["emit", "--trace", "a", "--event", "plan_created"],
    code: 2,
    message: /--seq is required/,
  },
  {
    name: "dev with an unknown log format in the environment",
    args: ["dev"],
    env: { TRACE_STREAM_LOG_FORMAT: "yaml" },
    code: 2,
    message: /dev: TRACE_STREAM_LOG_FORMAT must be one of text, json, got "yaml"/,
  },
  {
    name: "emit with a negative --seq",
    args: ["emit", "--trace", "a", "--event", "plan_created", "--seq", "-1"],
    code: 2,
    message: /emit: --seq must be ≥ 0, got -1/,
  },
  {
    name: "emit with a --seq past the largest",
    args: ["emit", "--trace", "a", "--event", "plan_created", "--seq", "10000000000"],
    code: 2,
    message: /emit: --seq must be ≤ 9999999999, got 10000000000/,
  },
  {
    name: "emit with a negative seq in the file",
    args: ["emit", "--file", "-"],
    input: JSON.stringify({ trace_id: "a", seq: -1, event: "plan_created" }),
    code: 2,
    message: /emit: "seq" in --file must be ≥ 0, got -1/,
  },
  {
    name: "emit without a trace id anywhere",
    args: ["emit", "--event", "plan_created", "--seq", "0"],
    code: 2,
    message: /emit: --trace is required \(or a "trace_id" field in --file\)/,
  },
  {
    name: "emit with a trace id in the file that is not a string",
    args: ["emit", "--file", "-"],
    input: JSON.stringify({ trace_id: 7, seq: 0, event: "plan_created" }),
    code: 2,
    message: /emit: "trace_id" in --file must be a string \(or pass --trace\)/,
  },
  {
    name: "emit with an empty --trace",
    args: ["emit", "--trace", "", "--event", "plan_created", "--seq", "0"],
    code: 2,
    message: /emit: --trace must not be empty/,
  },
  {
    name: "emit with an unknown event",
    args: ["emit", "--trace", "a", "--event", "plan_started", "--seq", "0"],
    code: 2,
    message: /"plan_started" is not a trace event; one of: plan_created/,
  },
  {
    name: "emit with a bad trace id",
    args: ["emit", "--trace", "a b", "--event", "plan_created", "--seq", "0"],
    code: 2,
    message: /--trace "a b" is not a valid trace id/,
  },
  {
    name: "emit with a bad --status",
    args: ["emit", "--trace", "a", "--event", "plan_created", "--seq", "0", "--status", "done"],
    code: 2,
    message: /--status must be one of pending, success, error, warning/,
  },
  {
    name: "emit with metadata the schema refuses",
    args: ["emit", "--file", "-"],
    input: JSON.stringify({ trace_id: "a", seq: 0, event: "budget_warning", metadata: { utilization: 2 } }),
    code: 2,
    message: /invalid event \(invalid_event\): metadata\.utilization: Too big/,
  },
  {
    name: "emit with an event over 96 KiB",
    args: ["emit", "--file", "-"],
    input: JSON.stringify({
      trace_id: "a",
      seq: 0,
      event: "route_decision",
      metadata: { reason: "x".repeat(100_000) },
    }),
    code: 2,
    message: /invalid event \(event_too_large\): serialized event is \d+ bytes; the limit is 98304/,
  },
  {
    name: "emit with metadata nested 5,000 levels",
    args: ["emit", "--file", "-"],
    input: `{"trace_id":"a","seq":0,"event":"route_decision","metadata":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`,
    code: 2,
    message: /invalid event \(invalid_event\): metadata: nests deeper than 32 levels \(MAX_METADATA_DEPTH\)/,
  },
  {
    name: "demo with a bad --speed",
    args: ["demo", "--speed", "fast"],
    code: 2,
    message: /--speed must be a number above 0/,
  },
  {
    name: "demo with a bad --trace",
    args: ["demo", "--trace", "x y"],
    code: 2,
    message: /--trace "x y" is not a valid trace id/,
  },
  {
    name: "connections with a bad trace id",
    args: ["connections", "#"],
    code: 2,
    message: /<traceId> "#" is not a valid trace id/,
  },
  {
    name: "connections against AWS without a table",
    args: ["connections", "a", "--target", "aws"],
    code: 2,
    message: /the table name is not set: pass --table or set TRACE_STREAM_TABLE/,
  },
];

describe("bad input", () => {
  it.each(BAD_INPUTS)("$name: exit $code with a clear message", async (bad) => {
    const result = await runCliInProcess(bad.args, { env: bad.env ?? {}, input: bad.input ?? "" });
    expect(result.stderr).toMatch(bad.message);
    expect(result.code).toBe(bad.code);
    expect(result.stdout).toBe("");
  });

  // The same cases through the real binary: the exit code reaches the shell, and no stack trace does.
  it.each(
    BAD_INPUTS.filter((bad) =>
      [
        "an unknown command",
        "token without --trace",
        "tail with a bad trace id",
        "token with a bad --ttl",
        "emit with bad JSON on stdin",
        "emit with metadata the schema refuses",
      ].includes(bad.name),
    ),
  )("as a process, $name: exit $code, the message, no stack trace", async (bad) => {
    const result = await runCli(bad.args, { env: bad.env ?? {}, input: bad.input ?? "" });
    expect(result.stderr).toMatch(bad.message);
    expect(result.code).toBe(bad.code);
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.stdout).toBe("");
  });
});
