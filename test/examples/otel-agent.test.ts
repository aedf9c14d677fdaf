import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ReceivedTraceEvent, TraceStreamClient, type WebSocketConstructor } from "../../client/index.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/otel-agent/index.ts", import.meta.url));

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

/** Runs the example as a user would (`tsx examples/otel-agent/index.ts`), against the test stack. */
function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", EXAMPLE], {
      env: {
        ...process.env,
        TRACE_STREAM_EVENTBRIDGE_ENDPOINT: stack.endpoints.eventBridge,
        STEP_DELAY_MS: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("examples/otel-agent", () => {
  it("runs its tool loop, prints the trace, and the trace arrives as mapped events ending in plan_completed", async () => {
    const result = await runExample();
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const traceId = /^trace ([0-9a-f]{32})$/m.exec(result.stdout)?.[1];
    expect(traceId).toBeDefined();
    expect(result.stdout).toMatch(/answer: Order 4821 qualifies/);

    const events: ReceivedTraceEvent[] = [];
    const client = new TraceStreamClient({
      url: stack.endpoints.webSocketUrl,
      traceId: traceId as string,
      getToken: () => stack.mintToken(traceId as string),
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      pageSignals: null,
    });
    client.on("event", (event) => events.push(event));
    await new Promise<void>((resolve, reject) => {
      client.on("state", (state) => {
        if (state.status === "ended") resolve();
        if (state.status === "failed") reject(new Error(state.reason));
      });
      client.connect();
    });
    client.disconnect();
    expect(events.map((event) => event.event)).toEqual([
      "plan_created",
      "llm_call_start",
      "llm_call_complete",
      "tool_call_start",
      "tool_call_complete",
      "llm_call_start",
      "llm_call_complete",
      "tool_call_start",
      "tool_call_complete",
      "llm_call_start",
      "llm_call_complete",
      "plan_completed",
    ]);
    expect(events[2]?.metadata).toMatchObject({ provider: "fake", model: "fake-model-1", input_tokens: 400 });
    expect(events[4]?.metadata).toMatchObject({ tool: "lookup_order", call_id: "call-0" });
  });
});
