import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { closeServer } from "../../local/http-server.js";
import { startTestStack } from "../helpers/local-stack.js";
import { closedPort, runCli, STACK_TRACE, stackEnv, startCli } from "./run-cli.js";

/** Lines of demo output that show an event (`HH:MM:SS.mmm #seq ...`). */
const eventLines = (stdout: string) =>
  stdout.split("\n").filter((line) => /^\d\d:\d\d:\d\d\.\d{3} #\d/.test(line));

describe("demo reports delivery failures as they happen", () => {
  it("shows no event as sent when EventBridge cannot be reached: a ✗ line for the first event, then exit 3", async () => {
    const port = await closedPort();
    const result = await runCli(["demo", "--eventbridge-endpoint", `http://127.0.0.1:${port}`]);
    expect(eventLines(result.stdout)).toEqual([]);
    expect(result.stdout).not.toContain("✓");
    expect(result.stderr).toMatch(/^✗ #0 plan_created not delivered: ECONNREFUSED: .* \(4 attempts\)$/m);
    expect(result.stderr).toContain(
      `trace-stream demo: cannot reach EventBridge at http://127.0.0.1:${port}`,
    );
    expect(result.stderr).not.toMatch(STACK_TRACE);
    expect(result.code).toBe(3);
  });

  it("stops at the first event that is lost when the stack goes away mid-run, and says which", async () => {
    const stack = await startTestStack();
    let stopped = false;
    try {
      const demo = startCli(["demo", "--speed", "4"], { env: stackEnv(stack) });
      await demo.waitFor(({ stdout }) => eventLines(stdout).length >= 3, 30_000);
      await stack.stop();
      stopped = true;
      const result = await demo.done;
      const shown = eventLines(result.stdout);
      const lastShown = Number(/#(\d+)/.exec(shown.at(-1) ?? "")?.[1]);
      // The event after the last one shown is reported as lost, and nothing after it is shown.
      expect(result.stderr).toMatch(new RegExp(`^✗ #${lastShown + 1} \\w+ not delivered: ECONNREFUSED`, "m"));
      expect(result.stdout).not.toContain("done:");
      expect(result.stderr).toContain("cannot reach EventBridge");
      expect(result.code).toBe(3);
    } finally {
      if (!stopped) await stack.stop();
    }
  }, 60_000);

  it("exits 1 naming the refusal when EventBridge refuses the events (no such bus)", async () => {
    const stack = await startTestStack();
    try {
      const result = await runCli(["demo", "--speed", "400", "--bus", "no-such-bus"], {
        env: stackEnv(stack),
      });
      expect(eventLines(result.stdout)).toEqual([]);
      expect(result.stderr).toMatch(
        /^✗ #0 plan_created not delivered: ResourceNotFoundException: .* \(1 attempt\)$/m,
      );
      expect(result.code).toBe(1);
    } finally {
      await stack.stop();
    }
  });

  it.each([
    ["a text body", "not here"],
    ["an empty body", ""],
  ])(
    "says so when something other than EventBridge answers at the endpoint (404 with %s)",
    async (_name, body) => {
      const server = createServer((_request, response) => response.writeHead(404).end(body));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const result = await runCli(["demo", "--eventbridge-endpoint", endpoint]);
        expect(result.stderr).toContain(
          `trace-stream demo: 1 trace event(s) not delivered: ${endpoint} answered HTTP 404, not as EventBridge does`,
        );
        expect(result.stderr).toContain(
          "is --eventbridge-endpoint (TRACE_STREAM_EVENTBRIDGE_ENDPOINT) the EventBridge endpoint?",
        );
        expect(result.code).toBe(1);
      } finally {
        await closeServer(server);
      }
    },
  );
});
