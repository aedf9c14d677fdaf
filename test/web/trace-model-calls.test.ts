import { describe, expect, it } from "vitest";
import { buildTraceModel } from "../../web/trace-model.js";
import { traceBuilder } from "./trace-fixtures.js";

describe("trace model: model calls", () => {
  it("shows each model call in the timeline with its model, tokens, cost and duration, and totals them", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "Answer" });
    trace.add("llm_call_start", { call_id: "m1", model: "gpt-x", provider: "openai" });
    trace.add("tool_call_start", { call_id: "m1", tool: "search" }); // a tool call with the same id
    trace.wait(1200);
    trace.add("llm_call_complete", {
      call_id: "m1",
      model: "gpt-x-2025",
      input_tokens: 1200,
      output_tokens: 340,
      cache_read_tokens: 100,
      cost_usd: 0.0123,
      finish_reason: "stop",
    });
    trace.add("llm_call_start", { call_id: "m2", model: "small" });
    trace.add("llm_call_error", { call_id: "m2", model: "small", error: "rate limited", input_tokens: 10 });
    const model = buildTraceModel(trace.events);

    expect(model.toolCalls.map((call) => [call.kind, call.tool, call.state])).toEqual([
      ["model", "gpt-x-2025", "success"],
      ["tool", "search", "pending"],
      ["model", "small", "error"],
    ]);
    expect(model.toolCalls[0]).toMatchObject({
      provider: "openai",
      durationMs: 1200,
      usage: {
        inputTokens: 1200,
        outputTokens: 340,
        cacheReadTokens: 100,
        costUsd: 0.0123,
        finishReason: "stop",
      },
    });
    expect(model.usage).toEqual({
      modelCalls: 2,
      inputTokens: 1210,
      outputTokens: 340,
      cacheReadTokens: 100,
      costUsd: 0.0123,
    });
    expect(model.problems.map((problem) => problem.title)).toEqual(["Model call failed: small"]);
  });

  it("feeds budget meters from model calls until a budget_warning speaks for the budget", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "g", total_budget: { tokens: 1000, usd: 1 } });
    trace.add("llm_call_complete", {
      call_id: "a",
      model: "m",
      input_tokens: 700,
      output_tokens: 150,
      cost_usd: 0.25,
    });
    const fed = buildTraceModel(trace.events);
    expect(fed.budgets.map((budget) => [budget.budgetType, budget.used, budget.state])).toEqual([
      ["tokens", 850, "warning"],
      ["usd", 0.25, "ok"],
    ]);

    trace.add("budget_warning", { budget_type: "tokens", used: 500, limit: 1000 });
    const reported = buildTraceModel(trace.events);
    expect(reported.budgets[0]).toMatchObject({ used: 500, utilization: 0.5, state: "warning" });

    trace.add("llm_call_complete", { call_id: "b", model: "m", cost_usd: 0.9 });
    expect(buildTraceModel(trace.events).budgets[1]).toMatchObject({ used: 1.15, state: "exceeded" });
  });

  it("leaves a model call without an end as never finished once the run ends", () => {
    const trace = traceBuilder();
    trace.add("llm_call_start", { call_id: "a", model: "m" });
    trace.add("plan_completed", {});
    expect(buildTraceModel(trace.events).toolCalls[0]?.state).toBe("unfinished");
  });
});
