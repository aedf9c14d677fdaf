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

describe("trace-stream dev", () => {
  it("runs the stack, prints its endpoints, serves demo and tail, and stops cleanly on Ctrl-C", async () => {
    const dev = startCli(["dev", "--stack-only", ...FREE_PORTS]);
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
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`),
      );
      expect(result.stderr).not.toMatch(STACK_TRACE);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("refuses a bad port or log level as bad input", async () => {
    const port = await runCli(["dev", "--websocket-port", "70000"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--websocket-port must be a whole number from 0 to 65535/);
    const level = await runCli(["dev", "--log-level", "loud"]);
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/--log-level must be one of debug, info, warn, error, silent/);
  });
});
