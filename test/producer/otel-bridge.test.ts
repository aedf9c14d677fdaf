import { context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { TraceStreamClient, type WebSocketConstructor } from "../../client/index.js";
import { OTEL_SPAN_MAPPING, TraceStreamSpanProcessor } from "../../client/otel.js";
import { REDACTED, type ReceivedTraceEvent } from "../../protocol/index.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

/** The real OpenTelemetry SDK with the processor, spans from a small instrumented agent, the local stack. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack.stop());

function setup(options: { traceIdAttribute?: string } = {}) {
  const processor = new TraceStreamSpanProcessor({ endpoint: stack.endpoints.eventBridge, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer("otel-bridge-test");
  const child = (parent: Span, name: string, attributes: Record<string, string | number | string[]>) =>
    tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
  return { processor, provider, tracer, child };
}

/** Watches a trace with the real client; `until` resolves once a received event satisfies the test. */
function watch(traceId: string) {
  const events: ReceivedTraceEvent[] = [];
  const waiters: { test: (event: ReceivedTraceEvent) => boolean; resolve: () => void }[] = [];
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    pageSignals: null,
  });
  client.on("event", (event) => {
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.test(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const ended = new Promise<void>((resolve, reject) => {
    client.on("state", (state) => {
      if (state.status === "ended") resolve();
      if (state.status === "failed") reject(new Error(state.reason));
    });
  });
  client.connect();
  const until = (test: (event: ReceivedTraceEvent) => boolean) =>
    events.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve }));
  return { client, events, ended, until };
}

describe("TraceStreamSpanProcessor", () => {
  it("streams an instrumented agent as mapped events, a running tool visible before it ends", async () => {
    const { processor, tracer, child } = setup();
    const root = tracer.startSpan("support agent", {
      attributes: { "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support" },
    });
    const traceId = root.spanContext().traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const watcher = watch(traceId);

    const chat = child(root, "chat gpt-x", {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-x",
    });
    chat.setAttributes({
      "gen_ai.response.model": "gpt-x-2026",
      "gen_ai.usage.input_tokens": 1200,
      "gen_ai.usage.output_tokens": 40,
      "gen_ai.usage.cache_read.input_tokens": 1024,
      "gen_ai.response.finish_reasons": ["tool_calls"],
    });
    chat.end();

    const lookup = child(root, "execute_tool lookup_order", {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "lookup_order",
      "gen_ai.tool.call.id": "call-1",
    });
    // The tool is still running: its start has reached a subscriber, pending.
    await watcher.until((event) => event.event === "tool_call_start");
    expect(watcher.events.at(-1)).toMatchObject({ event: "tool_call_start", status: "pending" });
    expect(watcher.events.some((event) => event.event === "tool_call_complete")).toBe(false);
    lookup.end();

    const refund = child(root, "execute_tool issue_refund", {
      "gen_ai.operation.name": "execute_tool",
      "gen_ai.tool.name": "issue_refund",
    });
    refund.recordException({ name: "PaymentError", message: "gateway said no" });
    refund.setStatus({
      code: SpanStatusCode.ERROR,
      message: "refused with Bearer abcdefghijklmnopqrstuvwxyz0123456789",
    });
    refund.end();

    const billing = child(root, "invoke_agent billing", {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.name": "billing",
    });
    const retrieve = child(billing, "retrieve documents", { documents: 3 });
    retrieve.end();
    billing.end();
    root.end();
    await processor.forceFlush();
    await watcher.ended;
    watcher.client.disconnect();

    const events = watcher.events;
    expect(events.map((event) => [event.seq, event.event, event.status])).toEqual([
      [0, "plan_created", "success"],
      [1, "llm_call_start", "pending"],
      [2, "llm_call_complete", "success"],
      [3, "tool_call_start", "pending"],
      [4, "tool_call_complete", "success"],
      [5, "tool_call_start", "pending"],
      [6, "tool_call_error", "error"],
      [7, "route_decision", "success"],
      [8, "custom", "pending"],
      [9, "custom", "success"],
      [10, "custom", "success"],
      [11, "plan_completed", "success"],
    ]);
    const rootId = root.spanContext().spanId;
    expect(events[0]).toMatchObject({
      span_id: rootId,
      metadata: { goal: "support agent", agent: "support" },
    });
    expect(events[0]?.parent_id).toBeUndefined();
    expect(events[1]).toMatchObject({
      parent_id: rootId,
      metadata: { provider: "openai", model: "gpt-x", parent_call_id: rootId },
    });
    expect(events[2]).toMatchObject({
      span_id: chat.spanContext().spanId,
      metadata: {
        model: "gpt-x-2026",
        input_tokens: 1200,
        output_tokens: 40,
        cache_read_tokens: 1024,
        finish_reason: "tool_calls",
      },
    });
    expect(typeof events[2]?.metadata.duration_ms).toBe("number");
    expect(events[4]).toMatchObject({ metadata: { tool: "lookup_order", call_id: "call-1" } });
    expect(events[6]).toMatchObject({ metadata: { tool: "issue_refund", error_type: "PaymentError" } });
    expect(events[6]?.metadata.error).toBe(`refused with ${REDACTED}`);
    expect(events[7]).toMatchObject({ metadata: { agent: "billing" } });
    expect(events[8]).toMatchObject({
      parent_id: billing.spanContext().spanId,
      metadata: { name: "retrieve documents" },
    });
    expect(events[10]).toMatchObject({
      span_id: billing.spanContext().spanId,
      metadata: { name: "agent_completed" },
    });
    expect(processor.skipped).toBe(0);
    await processor.shutdown();
  });

  it("ends the trace with plan_failed when the root span fails, and sends nothing after it", async () => {
    const { processor, tracer, child } = setup();
    const root = tracer.startSpan("agent", { attributes: { "gen_ai.operation.name": "invoke_agent" } });
    const late = child(root, "execute_tool slow", { "gen_ai.operation.name": "execute_tool" });
    root.setStatus({ code: SpanStatusCode.ERROR, message: "budget exhausted" });
    root.end();
    late.end();
    await processor.forceFlush();
    const watcher = watch(root.spanContext().traceId);
    await watcher.ended;
    watcher.client.disconnect();
    expect(watcher.events.map((event) => event.event)).toEqual([
      "plan_created",
      "tool_call_start",
      "plan_failed",
    ]);
    expect(watcher.events[2]?.metadata).toMatchObject({ error: "budget exhausted", error_type: "Error" });
    expect(processor.skipped).toBe(1);
    await processor.shutdown();
  });

  it("takes the trace id from a configured attribute when the first span carries a valid one", async () => {
    const { processor, tracer } = setup({ traceIdAttribute: "app.run_id" });
    const traceId = `otel-run-${process.pid}-${Date.now()}`;
    const root = tracer.startSpan("agent", { attributes: { "app.run_id": traceId } });
    root.end();
    await processor.forceFlush();
    expect(processor.traceIdOf(root.spanContext().traceId)).toBe(traceId);
    const watcher = watch(traceId);
    await watcher.ended;
    watcher.client.disconnect();
    expect(watcher.events.map((event) => event.event)).toEqual(["plan_created", "plan_completed"]);
    await processor.shutdown();
  });

  it("keeps its mapping as one table: every role once, model calls by the GenAI operation names", () => {
    expect(OTEL_SPAN_MAPPING.map((row) => row.role)).toEqual(["root", "agent", "tool", "model", "other"]);
    expect(OTEL_SPAN_MAPPING.find((row) => row.role === "model")?.operations).toEqual([
      "chat",
      "text_completion",
      "generate_content",
    ]);
  });
});
