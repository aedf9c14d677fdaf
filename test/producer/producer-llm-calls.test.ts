import { describe, expect, it } from "vitest";
import { createTrace, TraceEventError, TraceStateError } from "../../client/producer.js";
import { REDACTED } from "../../protocol/index.js";
import { fakeEventBridge } from "./fake-event-bridge.js";

/** Model calls, custom events and the span tree through the producer SDK (EventBridge faked at the SDK boundary). */
describe("model calls, custom events and span ids", () => {
  it("llmCall emits start and complete with usage, the same call_id, model, provider and span", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "llm-1" });
    trace.plan({ goal: "answer" });
    const call = trace.llmCall("gpt-x", { provider: "openai", call_id: "c-1", parent_id: "agent-0" });
    const done = call.complete({
      input_tokens: 900,
      output_tokens: 30,
      cost_usd: 0.0012,
      finish_reason: "stop",
    });
    expect(() => call.complete()).toThrow(TraceStateError);
    await trace.close();
    const [, start, complete] = bus.detailsOf(bus.delivered);
    expect(start).toMatchObject({
      event: "llm_call_start",
      status: "pending",
      span_id: "c-1",
      parent_id: "agent-0",
      metadata: { model: "gpt-x", provider: "openai", call_id: "c-1" },
    });
    expect(complete).toMatchObject({
      event: "llm_call_complete",
      status: "success",
      span_id: "c-1",
      parent_id: "agent-0",
      metadata: {
        model: "gpt-x",
        provider: "openai",
        call_id: "c-1",
        input_tokens: 900,
        output_tokens: 30,
        cost_usd: 0.0012,
        finish_reason: "stop",
      },
    });
    expect(done.metadata).toHaveProperty("duration_ms");
  });

  it("withLlmCall emits llm_call_error with the error (redacted) and rethrows", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "llm-2" });
    class RateLimitError extends Error {
      override name = "RateLimitError";
    }
    await expect(
      trace.withLlmCall("claude-x", { provider: "anthropic" }, () => {
        throw new RateLimitError("slow down, Bearer abcdefghijklmnopqrstuvwxyz0123456789");
      }),
    ).rejects.toThrow(RateLimitError);
    await trace.close();
    const [, error] = bus.detailsOf(bus.delivered);
    expect(error).toMatchObject({
      event: "llm_call_error",
      status: "error",
      metadata: {
        model: "claude-x",
        provider: "anthropic",
        error_type: "RateLimitError",
        error: `slow down, ${REDACTED}`,
      },
    });
  });

  it("custom requires a name and refuses a bad token count before using a seq", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "custom-1" });
    expect(() => trace.custom("")).toThrow(TraceEventError);
    expect(() => trace.llmCall("m").complete({ input_tokens: -5 })).toThrow(/input_tokens/);
    trace.custom("cache_hit", { key_prefix: "faq" }, undefined, { parent_id: "agent-0" });
    await trace.close();
    expect(bus.detailsOf(bus.delivered).map((event) => [event.seq, event.event])).toEqual([
      [0, "llm_call_start"],
      [1, "custom"],
    ]);
    expect(bus.detailsOf(bus.delivered)[1]).toMatchObject({
      parent_id: "agent-0",
      metadata: { name: "cache_hit", key_prefix: "faq" },
    });
  });

  it("tool calls carry span ids: the call_id by default, given ones as given", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "tool-1" });
    trace.toolCall("search", { call_id: "t-1", parent_id: "c-1" }).complete();
    trace.toolCall("fetch", { span_id: "s-9" }).fail(new Error("404"));
    await trace.close();
    const events = bus.detailsOf(bus.delivered);
    expect(events.map((event) => [event.event, event.span_id, event.parent_id])).toEqual([
      ["tool_call_start", "t-1", "c-1"],
      ["tool_call_complete", "t-1", "c-1"],
      ["tool_call_start", "s-9", undefined],
      ["tool_call_error", "s-9", undefined],
    ]);
  });
});
