import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { applyEvents, buildTraceModel, EMPTY_TRACE_MODEL, type TraceModel } from "../../web/trace-model.js";
import { longRun, T0, traceBuilder } from "./trace-fixtures.js";

describe("trace model: tool calls", () => {
  it("lists tool calls in start order, pending until their end event arrives", () => {
    const trace = traceBuilder();
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a", domain: "support" });
    trace.wait(100);
    trace.add("tool_call_start", { tool: "fetch_ticket", call_id: "b" });
    const model = buildTraceModel(trace.events);

    expect(model.toolCalls.map((call) => [call.tool, call.state])).toEqual([
      ["search_kb", "pending"],
      ["fetch_ticket", "pending"],
    ]);
    expect(model.toolCalls[0]).toMatchObject({ domain: "support", startSeq: 0, startedAt: T0 });
    expect(model.toolCalls[0]?.endedAt).toBeUndefined();
  });

  it("completes a call with the reported duration, and fails one with its error", () => {
    const trace = traceBuilder();
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    trace.add("tool_call_start", { tool: "send_email", call_id: "b" });
    trace.wait(250);
    trace.add("tool_call_complete", { tool: "search_kb", call_id: "a", duration_ms: 240, success: true });
    trace.wait(50);
    trace.add("tool_call_error", {
      tool: "send_email",
      call_id: "b",
      error: "SMTP refused",
      error_type: "ConnectionError",
    });
    const [a, b] = buildTraceModel(trace.events).toolCalls;

    expect(a).toMatchObject({ state: "success", durationMs: 240, endSeq: 2, endedAt: T0 + 250 });
    expect(b).toMatchObject({
      state: "error",
      durationMs: 300,
      error: "SMTP refused",
      errorType: "ConnectionError",
      endSeq: 3,
    });
  });

  it("treats tool_call_complete with success: false as a failed call", () => {
    const trace = traceBuilder();
    trace.add("tool_call_start", { tool: "lookup", call_id: "a" });
    trace.add("tool_call_complete", { tool: "lookup", call_id: "a", success: false });
    const model = buildTraceModel(trace.events);

    expect(model.toolCalls[0]?.state).toBe("error");
    expect(model.problems.map((problem) => problem.detail)).toEqual(["reported success: false"]);
  });

  it("shows an end whose start it never saw as a finished call placed duration_ms before the end", () => {
    const trace = traceBuilder();
    trace.wait(1000);
    trace.add("tool_call_complete", { tool: "search_kb", call_id: "lost-start", duration_ms: 400 });
    const [call] = buildTraceModel(trace.events).toolCalls;

    expect(call).toMatchObject({
      key: "lost-start",
      state: "success",
      startSeq: undefined,
      startedAt: T0 + 600,
      endedAt: T0 + 1000,
    });
  });

  it("matches an end without call_id to the oldest pending call of the same tool", () => {
    const trace = traceBuilder();
    trace.add("tool_call_start", { tool: "search_kb" });
    trace.add("tool_call_start", { tool: "search_kb" });
    trace.add("tool_call_complete", { tool: "search_kb" });
    const model = buildTraceModel(trace.events);

    expect(model.toolCalls.map((call) => call.state)).toEqual(["success", "pending"]);
  });

  it("ignores a repeated start of a call_id it already has", () => {
    const trace = traceBuilder();
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    expect(buildTraceModel(trace.events).toolCalls).toHaveLength(1);
  });
});

describe("trace model: budget", () => {
  it("takes limits from plan_created's total_budget, a number or one per type", () => {
    const single = traceBuilder();
    single.add("plan_created", { goal: "g", total_budget: 5000 });
    expect(buildTraceModel(single.events).budgets).toMatchObject([
      { budgetType: "total", limit: 5000, used: undefined, state: "ok" },
    ]);

    const perType = traceBuilder();
    perType.add("plan_created", { goal: "g", total_budget: { tokens: 10_000, usd: 2 } });
    expect(
      buildTraceModel(perType.events).budgets.map((budget) => [budget.budgetType, budget.limit]),
    ).toEqual([
      ["tokens", 10_000],
      ["usd", 2],
    ]);
  });

  it("moves a budget to warning with used/limit, then to exceeded, and never back", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { total_budget: { tokens: 1000 } });
    trace.add("budget_warning", { budget_type: "tokens", used: 800, limit: 1000, utilization: 0.8 });
    const warned = buildTraceModel(trace.events);
    expect(warned.budgets[0]).toMatchObject({ state: "warning", used: 800, limit: 1000, utilization: 0.8 });

    trace.add("budget_exceeded", {
      budget_type: "tokens",
      limit: 1000,
      domain: "support",
      tool: "summarize",
    });
    trace.add("budget_warning", { budget_type: "tokens", used: 990, limit: 1000 });
    const exceeded = applyEvents(warned, trace.events);
    expect(exceeded.budgets[0]).toMatchObject({
      state: "exceeded",
      used: 990,
      utilization: 0.99,
      domain: "support",
      tool: "summarize",
      lastSeq: 3,
    });
    expect(exceeded.problems).toMatchObject([
      { seq: 2, title: "Budget exceeded: tokens", detail: "limit 1000, summarize in support" },
    ]);
  });

  it("computes utilization from used/limit when the event leaves it out", () => {
    const trace = traceBuilder();
    trace.add("budget_warning", { used: 30, limit: 40 });
    expect(buildTraceModel(trace.events).budgets[0]).toMatchObject({
      budgetType: "total",
      utilization: 0.75,
    });
  });
});

describe("trace model: approvals", () => {
  it("tracks each approval from requested to approved, rejected or timed out", () => {
    const trace = traceBuilder();
    const expiresAt = new Date(T0 + 60_000).toISOString();
    for (const id of ["a", "b", "c", "d"]) {
      trace.add("approval_requested", {
        approval_id: id,
        tool: `tool-${id}`,
        risk_level: "high",
        expires_at: expiresAt,
      });
    }
    trace.wait(1000);
    trace.add("approval_received", { approval_id: "a", decision: "approved", reason: "looks fine" });
    trace.add("approval_received", { approval_id: "b", decision: "rejected", reason: "too risky" }, "error");
    trace.add("approval_timeout", { approval_id: "c" });
    const model = buildTraceModel(trace.events);

    expect(model.approvals.map((approval) => [approval.approvalId, approval.state])).toEqual([
      ["a", "approved"],
      ["b", "rejected"],
      ["c", "timed_out"],
      ["d", "pending"],
    ]);
    expect(model.approvals[3]).toMatchObject({ riskLevel: "high", expiresAt: T0 + 60_000, requestedAt: T0 });
    expect(model.approvals[0]).toMatchObject({ reason: "looks fine", decidedAt: T0 + 1000, decisionSeq: 4 });
    expect(model.problems.map((problem) => problem.title)).toEqual([
      "Approval rejected: tool-b",
      "Approval timed out: tool-c",
    ]);
  });

  it("settles a decision without approval_id against the oldest pending request", () => {
    const trace = traceBuilder();
    trace.add("approval_requested", { approval_id: "x", tool: "deploy" });
    trace.add("approval_received", { decision: "approved" });
    expect(buildTraceModel(trace.events).approvals).toMatchObject([{ approvalId: "x", state: "approved" }]);
  });
});

describe("trace model: plan summary", () => {
  it("shows goal, profile, steps and the latest agent while running", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "Answer the ticket", profile: "support", steps: 4 });
    trace.add("route_decision", { agent: "researcher", reason: "needs facts" });
    const { plan } = buildTraceModel(trace.events);

    expect(plan).toMatchObject({
      goal: "Answer the ticket",
      profile: "support",
      steps: 4,
      agent: "researcher",
      outcome: "running",
      startedAt: T0,
      endedAt: undefined,
    });
  });

  it("records a completed run's duration and steps completed", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "g", steps: 2 });
    trace.wait(4000);
    trace.add("plan_completed", { duration_ms: 3990, steps_completed: 2 });
    expect(buildTraceModel(trace.events).plan).toMatchObject({
      outcome: "completed",
      durationMs: 3990,
      stepsCompleted: 2,
      endedAt: T0 + 4000,
    });
  });

  it("records a failed run's error and lists it as a problem", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "g" });
    trace.add("plan_failed", { error: "no tools left", error_type: "PlanError" });
    const model = buildTraceModel(trace.events);
    expect(model.plan).toMatchObject({ outcome: "failed", error: "no tools left", errorType: "PlanError" });
    expect(model.problems).toMatchObject([{ title: "Plan failed", detail: "PlanError: no tools left" }]);
  });

  it("starts the clock at the first event seen when plan_created is not among them", () => {
    const trace = traceBuilder();
    trace.wait(500);
    trace.add("route_decision", { agent: "a" });
    expect(buildTraceModel(trace.events).plan.startedAt).toBe(T0 + 500);
  });
});

describe("trace model: incremental folding", () => {
  it("returns the same model when no event is newer than its last seq", () => {
    const events = longRun("t", 3);
    const model = buildTraceModel(events);
    expect(applyEvents(model, events)).toBe(model);
    expect(applyEvents(model, [])).toBe(model);
  });

  it("counts each seq once when batches overlap (as the client's window hands events again)", () => {
    const events = longRun("t", 20);
    let model = EMPTY_TRACE_MODEL;
    for (let end = 1; end <= events.length; end += 3) model = applyEvents(model, events.slice(0, end));
    model = applyEvents(model, events);
    expect(model).toEqual(buildTraceModel(events));
    expect(model.eventCount).toBe(events.length);
  });

  it("gives the same model for any split of the events into batches", () => {
    const events = longRun("t", 60);
    const whole = buildTraceModel(events);
    for (const size of [1, 2, 7, 50]) {
      let model = EMPTY_TRACE_MODEL;
      for (let i = 0; i < events.length; i += size) model = applyEvents(model, events.slice(i, i + size));
      expect(model).toEqual(whole);
    }
  });

  it("never changes an earlier model, and keeps the identity of parts an event did not touch", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "g", total_budget: 10 });
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    const before = buildTraceModel(trace.events);
    const snapshot = structuredClone(before);

    trace.add("route_decision", { agent: "writer" });
    const afterRoute = applyEvents(before, trace.events);
    expect(afterRoute.toolCalls).toBe(before.toolCalls);
    expect(afterRoute.budgets).toBe(before.budgets);
    expect(afterRoute.index).toBe(before.index);

    trace.add("tool_call_complete", { tool: "search_kb", call_id: "a", duration_ms: 3 });
    const afterEnd = applyEvents(afterRoute, trace.events);
    expect(afterEnd.toolCalls).not.toBe(afterRoute.toolCalls);
    expect(afterEnd.approvals).toBe(before.approvals);
    // The index maps and the log's array are shared append-only; a model trusts only its own prefix.
    expect({ ...before, index: null, log: before.log.events.slice(0, before.log.length) }).toEqual({
      ...snapshot,
      index: null,
      log: snapshot.log.events.slice(0, snapshot.log.length),
    });
    expect(before.toolCalls[0]?.state).toBe("pending");
  });

  it("folds two different continuations of one model independently", () => {
    const shared = traceBuilder("t");
    shared.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    const base = buildTraceModel(shared.events);
    const left = traceBuilder("t");
    left.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    left.add("tool_call_start", { tool: "left_tool", call_id: "b" });
    left.add("tool_call_complete", { tool: "left_tool", call_id: "b" });
    const right = traceBuilder("t");
    right.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    right.add("tool_call_start", { tool: "right_tool", call_id: "c" });
    right.add("tool_call_start", { tool: "right_tool", call_id: "b" });

    const leftModel = applyEvents(base, left.events);
    const rightModel = applyEvents(base, right.events);
    expect(applyEvents(leftModel, [])).toBe(leftModel);
    expect(leftModel.toolCalls.map((call) => [call.tool, call.state])).toEqual([
      ["search_kb", "pending"],
      ["left_tool", "success"],
    ]);
    expect(rightModel.toolCalls.map((call) => [call.key, call.state])).toEqual([
      ["a", "pending"],
      ["c", "pending"],
      ["b", "pending"],
    ]);
    // The same view as a fresh fold (the log holds the first copy of seq 0, from `shared`).
    expect({ ...rightModel, log: null }).toEqual({ ...buildTraceModel(right.events), log: null });
    expect(rightModel.log.events.slice(0, rightModel.log.length).map((event) => event.seq)).toEqual([
      0, 1, 2,
    ]);
  });

  it("skips over missing seqs without waiting for them", () => {
    const events = longRun("t", 5);
    const withGap: TraceEvent[] = [...events.slice(0, 3), ...events.slice(6)];
    const model = buildTraceModel(withGap);
    expect(model.eventCount).toBe(withGap.length);
    expect(model.lastSeq).toBe(events.at(-1)?.seq);
  });

  it("folds a 10,000-event run streamed one event at a time", () => {
    const events = longRun("big", 4900);
    expect(events.length).toBeGreaterThanOrEqual(9_800);
    let model: TraceModel = EMPTY_TRACE_MODEL;
    for (let end = 1; end <= events.length; end++) model = applyEvents(model, events.slice(end - 1, end));

    expect(model.eventCount).toBe(events.length);
    expect(model.toolCalls).toHaveLength(4900);
    expect(model.toolCalls.filter((call) => call.state === "error")).toHaveLength(700);
    expect(model.toolCalls.some((call) => call.state === "pending")).toBe(false);
    expect(model.budgets[0]?.budgetType).toBe("tokens");
    expect(model.plan.outcome).toBe("completed");
    expect(model).toEqual(buildTraceModel(events));
  });
});
