import { DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_EVENTS } from "../../bin/commands/demo-run.js";
import { createTrace } from "../../client/producer.js";
import { TraceEvent } from "../../protocol/trace-event.js";
import { openSubscriber, startTestStack, type TestStack, UpgradeRefused } from "../helpers/local-stack.js";
import { closedPort, runCli, STACK_TRACE, stackEnv, startCli } from "./run-cli.js";

let stack: TestStack;
let env: Record<string, string>;
let counter = 0;
const newTraceId = (name: string) => `cli-${name}-${Date.now()}-${++counter}`;

/** Parses `tail --json` output: one TraceEvent per line, each valid per the schema. */
function jsonLines(stdout: string): TraceEvent[] {
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => TraceEvent.parse(JSON.parse(line)));
}

beforeAll(async () => {
  stack = await startTestStack();
  env = stackEnv(stack);
});

afterAll(async () => {
  await stack?.stop();
});

describe("demo and tail", () => {
  it("demo publishes a full run; tail --json afterwards reproduces the sequence and exits 0", async () => {
    const traceId = newTraceId("demo");
    const demo = await runCli(["demo", "--trace", traceId, "--speed", "400"], { env });
    expect(demo.stderr).toBe("");
    expect(demo.code).toBe(0);
    expect(demo.stdout).toContain(`trace   ${traceId}`);
    expect(demo.stdout).toContain(`viewer  http://127.0.0.1:3000/?traceId=${traceId}`);
    expect(demo.stdout).toContain(`done: ${DEMO_EVENTS.length} events delivered`);
    // The follow-up command it prints is the one to run, with this run's id.
    const printed = /^tail {4}npx trace-stream (tail \S+)$/m.exec(demo.stdout)?.[1];
    expect(printed).toBe(`tail ${traceId}`);

    const tail = await runCli([...(printed as string).split(" "), "--json"], { env });
    expect(tail.code).toBe(0);
    const events = jsonLines(tail.stdout);
    expect(events.map((event) => event.event)).toEqual([...DEMO_EVENTS]);
    expect(events.map((event) => event.seq)).toEqual(DEMO_EVENTS.map((_, seq) => seq));
    expect(new Set(events.map((event) => event.trace_id))).toEqual(new Set([traceId]));
    const failed = events.find((event) => event.event === "tool_call_error");
    expect(failed?.metadata).toMatchObject({ tool: "fetch_payment_status", error_type: "TimeoutError" });
  });

  it("demo refuses a trace id that already has events: exit 2, says why, and publishes nothing", async () => {
    const traceId = newTraceId("twice");
    expect((await runCli(["demo", "--trace", traceId, "--speed", "400"], { env })).code).toBe(0);
    const again = await runCli(["demo", "--trace", traceId, "--speed", "400"], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`trace ${traceId} already has events (seq 0-17 stored)`);
    expect(again.stderr).toContain("every event refused as seq_conflict");
    expect(again.stderr).toContain("leave out --trace for a fresh id");
    expect(again.stderr).not.toMatch(STACK_TRACE);
    expect(again.stdout).toBe("");
    await stack.deliveriesIdle();
    expect(stack.deadLetters().filter((letter) => JSON.stringify(letter.payload).includes(traceId))).toEqual(
      [],
    );
  });

  it("demo warns, and runs, when it cannot check whether the trace id is in use", async () => {
    const port = await closedPort();
    const demo = await runCli(["demo", "--trace", newTraceId("unchecked"), "--speed", "400"], {
      env: { ...env, TRACE_STREAM_DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` },
    });
    expect(demo.code).toBe(0);
    expect(demo.stderr).toMatch(
      /warning: could not check whether trace \S+ already has events \(table .+: ECONNREFUSED\)/,
    );
  });

  it("tail says when another run reused the trace id, and how many of its events were refused", async () => {
    const traceId = newTraceId("reused");
    expect((await runCli(["demo", "--trace", traceId, "--speed", "400"], { env })).code).toBe(0);
    // A second run through the SDK (or the AWS CLI): EventBridge accepts it, the emitter refuses it.
    const second = createTrace({
      traceId,
      endpoint: stack.endpoints.eventBridge,
      busName: stack.busName,
      source: stack.source,
    });
    second.plan({ goal: "a second run, same id" });
    second.route({ agent: "b" });
    await second.close();
    await stack.deliveriesIdle();
    const tail = await runCli(["tail", traceId], { env });
    expect(tail.code).toBe(0);
    expect(tail.stderr).toContain(
      "another run reused this trace id: 2 events were refused (seq_conflict); shown is the run that used it first",
    );
    expect(tail.stdout).not.toContain("a second run, same id");
  });

  it("tail started first shows the run live, human-readable, and exits 0 at plan_completed", async () => {
    const traceId = newTraceId("live");
    const tail = startCli(["tail", traceId], { env });
    await tail.waitFor(({ stderr }) => stderr.includes("-- live"));
    const demo = await runCli(["demo", "--trace", traceId, "--speed", "400"], { env });
    expect(demo.code).toBe(0);
    const result = await tail.done;
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(DEMO_EVENTS.length);
    expect(lines[0]).toMatch(/#0 +✓ plan_created +Resolve the refund request/);
    expect(lines.at(-1)).toMatch(/#17 +✓ plan_completed +5 steps/);
    expect(result.stdout).not.toContain("\x1b[");
    expect(result.stderr).toContain("-- trace ended (plan_completed)");
  });

  it("tail resumes after the server drops its connection: every event once, in order", async () => {
    const trace = createTrace({
      traceId: newTraceId("resume"),
      endpoint: stack.endpoints.eventBridge,
      busName: stack.busName,
      source: stack.source,
    });
    const tail = startCli(["tail", trace.traceId, "--json"], { env });
    const listed = async () =>
      (
        JSON.parse((await runCli(["connections", trace.traceId, "--json"], { env })).stdout) as {
          connections: Array<{ connection_id: string }>;
        }
      ).connections;
    // --json keeps stderr quiet while connecting; the subscription shows when tail is connected.
    let connections = await listed();
    for (let attempt = 0; attempt < 50 && connections.length === 0; attempt++) connections = await listed();
    trace.plan({ goal: "survive a dropped connection" });
    trace.route({ agent: "a" });
    await trace.flush();
    await tail.waitFor(({ stdout }) => stdout.includes('"seq":1,'));

    const connectionId = connections[0]?.connection_id as string;
    await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    trace.route({ agent: "b" });
    trace.route({ agent: "c" });
    trace.complete();
    await trace.close();

    const result = await tail.done;
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout).map((event) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(result.stderr).toMatch(/reconnecting in \d+ ms/);
  });

  it("tail --from shows only events from that seq on", async () => {
    const traceId = newTraceId("from");
    expect((await runCli(["demo", "--trace", traceId, "--speed", "400"], { env })).code).toBe(0);
    const tail = await runCli(["tail", traceId, "--json", "--from", "15"], { env });
    expect(tail.code).toBe(0);
    expect(jsonLines(tail.stdout).map((event) => event.seq)).toEqual([15, 16, 17]);
  });

  it("tail colours its lines with FORCE_COLOR, and NO_COLOR wins", async () => {
    const traceId = newTraceId("colour");
    expect((await runCli(["demo", "--trace", traceId, "--speed", "400"], { env })).code).toBe(0);
    const coloured = await runCli(["tail", traceId], { env: { ...env, FORCE_COLOR: "1" } });
    expect(coloured.stdout).toContain("\x1b[32m✓ plan_created");
    const plain = await runCli(["tail", traceId], { env: { ...env, FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(plain.stdout).not.toContain("\x1b[");
    expect(plain.code).toBe(0);
  });

  it("tail exits 4 when the token is refused (401) or is for another trace (403)", async () => {
    const traceId = newTraceId("auth");
    const garbage = await runCli(["tail", traceId, "--token", "not-a-jwt"], { env });
    expect(garbage.code).toBe(4);
    expect(garbage.stderr).toMatch(/refused the token \(HTTP 401\)/);
    const other = (await runCli(["token", "--trace", "someone-else"], { env })).stdout.trim();
    const forbidden = await runCli(["tail", traceId], { env: { ...env, TRACE_STREAM_TOKEN: other } });
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toMatch(/does not grant trace .* \(HTTP 403\)/);
    expect(forbidden.stderr).not.toMatch(STACK_TRACE);
  });
});

describe("token", () => {
  it("mints a token the stack's authorizer accepts for that trace only", async () => {
    const traceId = newTraceId("token");
    const token = (await runCli(["token", "--trace", traceId, "--ttl", "10m"], { env })).stdout.trim();
    const subscriber = await openSubscriber(stack.connectUrl(traceId, token));
    await subscriber.close();
    await expect(openSubscriber(stack.connectUrl(`${traceId}-other`, token))).rejects.toEqual(
      new UpgradeRefused(403),
    );
  });
});

describe("emit", () => {
  it("publishes one event from flags, redacted, and prints it as sent", async () => {
    const traceId = newTraceId("emit");
    const result = await runCli(
      [
        "emit",
        ...["--trace", traceId, "--seq", "0", "--event", "plan_created"],
        ...["--metadata", JSON.stringify({ goal: "ship it", steps: 1, api_key: "sk-live-abc123" })],
      ],
      { env },
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const sent = TraceEvent.parse(JSON.parse(result.stdout));
    expect(sent).toMatchObject({
      trace_id: traceId,
      seq: 0,
      status: "success",
      metadata: { api_key: "[REDACTED]" },
    });
    expect(result.stdout).not.toContain("sk-live-abc123");

    const partial = { trace_id: traceId, seq: 1, event: "plan_completed", metadata: { steps_completed: 1 } };
    const fromStdin = await runCli(["emit", "--file", "-"], { env, input: JSON.stringify(partial) });
    expect(fromStdin.code).toBe(0);

    const tail = await runCli(["tail", traceId, "--json"], { env });
    expect(tail.code).toBe(0);
    const events = jsonLines(tail.stdout);
    expect(events.map((event) => [event.seq, event.event])).toEqual([
      [0, "plan_created"],
      [1, "plan_completed"],
    ]);
    expect(events[0]?.metadata).toMatchObject({ goal: "ship it", api_key: "[REDACTED]" });
  });

  it("exits 1 naming the failure when EventBridge refuses the entry (no such bus)", async () => {
    const result = await runCli(
      ["emit", "--trace", newTraceId("bus"), "--seq", "0", "--event", "plan_created", "--bus", "no-such-bus"],
      { env },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not delivered \(trace [^:]+: seq 0\): ResourceNotFoundException/);
  });
});

describe("connections", () => {
  it("counts the clients watching a trace and says who they are", async () => {
    const traceId = newTraceId("watch");
    const tail = startCli(["tail", traceId], { env });
    await tail.waitFor(({ stderr }) => stderr.includes("-- live"));

    const listed = await runCli(["connections", traceId, "--json"], { env });
    expect(listed.code).toBe(0);
    const report = JSON.parse(listed.stdout) as {
      count: number;
      connections: Array<Record<string, unknown>>;
    };
    expect(report.count).toBe(1);
    expect(report.connections[0]).toMatchObject({
      source_ip: "127.0.0.1",
      user_agent: "trace-stream-cli tail",
    });

    const human = await runCli(["connections", traceId], { env });
    expect(human.stdout).toMatch(new RegExp(`trace ${traceId}: 1 client watching`));
    expect(human.stdout).toMatch(/CONNECTION +CONNECTED +LAST ACTIVE +SOURCE IP +USER AGENT/);

    tail.child.kill("SIGINT");
    expect((await tail.done).code).toBe(130);
    let after = report.count;
    for (let attempt = 0; attempt < 20 && after > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = (
        JSON.parse((await runCli(["connections", traceId, "--json"], { env })).stdout) as { count: number }
      ).count;
    }
    expect(after).toBe(0);
  });

  it("reports a trace nobody watches", async () => {
    const result = await runCli(["connections", newTraceId("nobody")], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/no clients watching/);
  });
});

describe("unreachable endpoints", () => {
  it("each command exits 3 and names the endpoint it could not reach", async () => {
    const port = await closedPort();
    const cases = [
      {
        args: [
          "emit",
          "--trace",
          "t",
          "--seq",
          "0",
          "--event",
          "plan_created",
          "--eventbridge-endpoint",
          `http://127.0.0.1:${port}`,
        ],
        what: `EventBridge at http://127.0.0.1:${port}`,
      },
      {
        args: ["demo", "--speed", "400", "--eventbridge-endpoint", `http://127.0.0.1:${port}`],
        what: `EventBridge at http://127.0.0.1:${port}`,
      },
      {
        args: ["tail", "t", "--url", `ws://127.0.0.1:${port}/local`],
        what: `the WebSocket API at ws://127.0.0.1:${port}/local`,
      },
      {
        args: ["connections", "t", "--dynamodb-endpoint", `http://127.0.0.1:${port}`],
        what: `DynamoDB at http://127.0.0.1:${port}`,
      },
    ];
    const results = await Promise.all(cases.map((entry) => runCli(entry.args, { env })));
    results.forEach((result, index) => {
      expect(result.stderr).toContain(`cannot reach ${cases[index]?.what}`);
      expect(result.stderr).not.toMatch(STACK_TRACE);
      expect(result.code).toBe(3);
    });
  });
});
