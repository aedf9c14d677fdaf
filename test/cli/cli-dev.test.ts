import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { DEMO_EVENTS } from "../../bin/commands/demo-run.js";
import { runCli, STACK_TRACE, startCli } from "./run-cli.js";

const FREE_PORTS = [
  "--websocket-port",
  "0",
  "--eventbridge-port",
  "0",
  "--dynamodb-port",
  "0",
  "--token-port",
  "0",
];

/** `HH:MM:SS.mmm LEVEL  source  message fields...` */
const TEXT_LINE = /^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ +\S+ +\S/;

/** The log: every line the dev server printed after its banner and before stopping. */
function logLines(output: string): string[] {
  const start = output.indexOf("Press Ctrl+C to stop.");
  const end = output.indexOf("Stopping the local stack...");
  return output
    .slice(start + "Press Ctrl+C to stop.".length, end === -1 ? undefined : end)
    .split("\n")
    .filter((line) => line.trim() !== "");
}

describe("trace-stream dev", () => {
  it("runs the stack, prints its endpoints, serves demo and tail, and stops cleanly on Ctrl-C", async () => {
    // The emitter's per-event line is DEBUG (sampled on AWS): ask for it.
    const dev = startCli(["dev", "--stack-only", "--log-level", "debug", ...FREE_PORTS]);
    await dev.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
    const banner = dev.stdout();
    const webSocketUrl = /WebSocket API +(ws:\/\/\S+)/.exec(banner)?.[1];
    const eventBridge = /EventBridge +(http:\/\/\S+)/.exec(banner)?.[1];
    expect(webSocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
    expect(eventBridge).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const env = {
      TRACE_STREAM_URL: webSocketUrl as string,
      TRACE_STREAM_EVENTBRIDGE_ENDPOINT: eventBridge as string,
    };

    const demo = await runCli(["demo", "--trace", "dev-demo", "--speed", "400"], { env });
    expect(demo.code).toBe(0);
    const tail = await runCli(["tail", "dev-demo", "--json"], { env });
    expect(tail.code).toBe(0);
    expect(tail.stdout.trim().split("\n")).toHaveLength(DEMO_EVENTS.length);

    dev.child.kill("SIGINT");
    const stopped = await dev.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("Stopped.");

    // The log: one short human line per record, the handlers' Powertools JSON included.
    const log = logLines(stopped.stdout + stopped.stderr);
    expect(log.filter((line) => line.startsWith("{"))).toEqual([]);
    for (const line of log) expect(line).toMatch(TEXT_LINE);
    const delivered = log.filter((line) =>
      / DEBUG +emitter +event delivered traceId=dev-demo seq=\d+ /.test(line),
    );
    expect(delivered).toHaveLength(DEMO_EVENTS.length);
  });

  it("logs JSON on request (TRACE_STREAM_LOG_FORMAT=json or --log-format json): the handlers' records as on AWS", async () => {
    const dev = startCli(["dev", "--stack-only", "--log-level", "debug", ...FREE_PORTS], {
      env: { TRACE_STREAM_LOG_FORMAT: "json" },
    });
    await dev.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
    const eventBridge = /EventBridge +(http:\/\/\S+)/.exec(dev.stdout())?.[1] as string;
    const env = { TRACE_STREAM_EVENTBRIDGE_ENDPOINT: eventBridge };
    await runCli(["emit", "--trace", "json-logs", "--seq", "0", "--event", "plan_created", "--bus", "nope"], {
      env,
    });
    expect(
      (await runCli(["emit", "--trace", "json-logs", "--seq", "0", "--event", "plan_created"], { env })).code,
    ).toBe(0);
    await dev.waitFor(({ stdout }) => stdout.includes('"message":"event delivered"'));
    dev.child.kill("SIGTERM");
    const stopped = await dev.done;
    expect(stopped.stdout).toContain("Logs: JSON, as the Lambda handlers log on AWS");

    const records = logLines(stopped.stdout + stopped.stderr).map(
      (line) => JSON.parse(line) as Record<string, unknown>,
    );
    expect(records.find((record) => record.message === "event delivered")).toMatchObject({
      level: "DEBUG",
      function: "emitter",
      message: "event delivered",
      service: "trace-stream",
      traceId: "json-logs",
      seq: 0,
    });
    expect(records.find((record) => record.source === "eventbridge")).toMatchObject({
      level: "INFO",
      message: expect.stringContaining("ResourceNotFoundException"),
    });

    const flag = await runCli(["dev", "--log-format", "xml"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--log-format must be one of text, json, got "xml"/);
  });

  it("refuses a fan-out mode it does not know, from the flag and from TRACE_STREAM_FAN_OUT", async () => {
    const flag = await runCli(["dev", "--fan-out", "kinesis"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--fan-out must be direct or stream, got "kinesis"/);
    const env = await runCli(["dev"], { env: { TRACE_STREAM_FAN_OUT: "batched" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/TRACE_STREAM_FAN_OUT must be direct or stream, got "batched"/);
  });

  it("stops cleanly on SIGTERM and on SIGHUP (a closed terminal)", async () => {
    for (const signal of ["SIGTERM", "SIGHUP"] as const) {
      const dev = startCli(["dev", "--stack-only", ...FREE_PORTS]);
      await dev.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
      dev.child.kill(signal);
      const stopped = await dev.done;
      expect(stopped.stdout, signal).toContain("Stopped.");
      expect(stopped.code, signal).toBe(0);
    }
  });

  it("exits 1 naming the service and port when a port is taken", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const result = await runCli(["dev", "--stack-only", ...FREE_PORTS, "--dynamodb-port", String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `dev: DynamoDB \\(dynalite\\) cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(--dynamodb-port\\)`,
        ),
      );
      expect(result.stderr).toContain("choose another port with --dynamodb-port N (0 picks a free one)");
      expect(result.stderr).not.toMatch(STACK_TRACE);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("refuses a bad port or log level as bad input", async () => {
    const port = await runCli(["dev", "--websocket-port", "70000"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--websocket-port must be ≤ 65535, got 70000/);
    const level = await runCli(["dev", "--log-level", "loud"]);
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/--log-level must be one of debug, info, warn, error, silent/);
  });
});
