/**
 * The model is a function of the set of events held, never of their arrival order: a late event (a
 * seq given up as missing that turned up later) folds into every panel exactly as if it had arrived
 * in order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReceivedTraceEvent, TraceEvent } from "../../protocol/trace-event.js";
import {
  applyEvents,
  buildTraceModel,
  EMPTY_TRACE_MODEL,
  MAX_LOG_EVENTS,
  type TraceModel,
} from "../../web/trace-model.js";
import { longRun, traceBuilder } from "./trace-fixtures.js";

/** What the panels show: the model without its fold bookkeeping. */
const view = (model: TraceModel) => ({ ...model, index: null, log: null });

/** The events held after each arrival, as the client's window hands them: in seq order. */
function arrive(events: readonly TraceEvent[], order: readonly number[]): TraceModel[] {
  const held: TraceEvent[] = [];
  const models: TraceModel[] = [];
  let model = EMPTY_TRACE_MODEL;
  for (const index of order) {
    held.push(events[index] as TraceEvent);
    held.sort((a, b) => a.seq - b.seq);
    model = applyEvents(model, held);
    models.push(model);
    expect(view(model)).toEqual(view(buildTraceModel(held)));
  }
  return models;
}

describe("trace model: arrival order", () => {
  it("folds a late tool_call_complete into every panel as if it had arrived in order", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "Late events", steps: 1 });
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a" });
    trace.wait(100);
    trace.add("route_decision", { agent: "writer" });
    trace.wait(100);
    trace.add("tool_call_complete", { tool: "search_kb", call_id: "a", duration_ms: 150 });
    trace.add("plan_completed", { steps_completed: 1 });
    const [e0, e1, e2, e3, e4] = trace.events as [TraceEvent, TraceEvent, TraceEvent, TraceEvent, TraceEvent];

    // Seqs 0, 1, 3 arrive; 2 is given up as missing and 4 waits behind it... then both come.
    let model = applyEvents(EMPTY_TRACE_MODEL, [e0, e1, e2]);
    model = applyEvents(model, [e0, e1, e2, e4]);
    expect(model.toolCalls[0]?.state).toBe("unfinished");
    model = applyEvents(model, [e0, e1, e2, e3, e4]);

    expect(model.eventCount).toBe(5);
    expect(model.toolCalls).toHaveLength(1);
    expect(model.toolCalls[0]).toMatchObject({ state: "success", durationMs: 150, endSeq: 3 });
    expect(model.plan.outcome).toBe("completed");
    expect(view(model)).toEqual(view(buildTraceModel(trace.events)));
    // Handing the same events again changes nothing.
    expect(applyEvents(model, [e0, e1, e2, e3, e4])).toBe(model);
  });

  it("gives the same model for any arrival order of any set of events (property)", () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant("start"),
        id: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }),
      }),
      fc.record({
        kind: fc.constantFrom("complete", "error"),
        id: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }),
      }),
      fc.record({ kind: fc.constantFrom("ask", "approve", "timeout"), id: fc.constantFrom("x", "y") }),
      fc.record({ kind: fc.constantFrom("warn", "exceed"), id: fc.constantFrom("tokens", "usd") }),
      fc.record({ kind: fc.constantFrom("route", "plan", "done", "failed", "custom"), id: fc.constant("") }),
      fc.record({
        kind: fc.constantFrom("llm_start", "llm_complete", "llm_error"),
        id: fc.option(fc.constantFrom("a", "m"), { nil: undefined }),
      }),
    );
    const runs = fc
      .array(step, { minLength: 1, maxLength: 14 })
      .chain((steps) =>
        fc.tuple(fc.constant(steps), fc.shuffledSubarray([...steps.keys()], { minLength: steps.length })),
      );

    fc.assert(
      fc.property(runs, ([steps, order]) => {
        const trace = traceBuilder();
        for (const { kind, id } of steps) {
          trace.wait(37);
          const tool = id === "a" ? "search" : "fetch";
          if (kind === "start") trace.add("tool_call_start", { tool, call_id: id });
          else if (kind === "complete") trace.add("tool_call_complete", { tool, call_id: id, success: true });
          else if (kind === "error") trace.add("tool_call_error", { tool, call_id: id, error: "boom" });
          else if (kind === "ask") trace.add("approval_requested", { approval_id: id, tool: "pay" });
          else if (kind === "approve")
            trace.add("approval_received", { approval_id: id, decision: "approved" });
          else if (kind === "timeout") trace.add("approval_timeout", { approval_id: id });
          else if (kind === "warn") trace.add("budget_warning", { budget_type: id, used: 8, limit: 10 });
          else if (kind === "exceed") trace.add("budget_exceeded", { budget_type: id, limit: 10 });
          else if (kind === "route") trace.add("route_decision", { agent: `agent-${steps.length}` });
          else if (kind === "plan")
            trace.add("plan_created", { goal: "g", total_budget: { tokens: 300, usd: 1 } });
          else if (kind === "llm_start") trace.add("llm_call_start", { call_id: id, model: "m" });
          else if (kind === "llm_complete")
            trace.add("llm_call_complete", {
              call_id: id,
              model: "m",
              input_tokens: 90,
              output_tokens: 40,
              cost_usd: 0.3,
            });
          else if (kind === "llm_error") trace.add("llm_call_error", { call_id: id, model: "m", error: "x" });
          else if (kind === "done") trace.add("plan_completed", {});
          else if (kind === "failed") trace.add("plan_failed", { error: "stop" });
          else trace.add("custom", { name: "note" });
        }
        const models = arrive(trace.events, order);
        expect(view(models.at(-1) as TraceModel)).toEqual(view(buildTraceModel(trace.events)));
      }),
      { numRuns: 300 },
    );
  });

  it("stays exact for late events after its log was compacted into a checkpoint", () => {
    const events = longRun("big", Math.ceil(MAX_LOG_EVENTS / 2) + 200);
    expect(events.length).toBeGreaterThan(MAX_LOG_EVENTS);
    const lateSeqs = new Set([events.length - 50, events.length - 400]);
    const onTime = events.filter((event) => !lateSeqs.has(event.seq));
    let model = EMPTY_TRACE_MODEL;
    for (let end = 500; end < onTime.length + 500; end += 500)
      model = applyEvents(model, onTime.slice(0, end));
    expect(model.log.checkpoint).not.toBeNull();
    expect(model.log.length).toBeLessThanOrEqual(MAX_LOG_EVENTS);
    const lateCall = model.toolCalls.find((call) => call.startSeq === events.length - 401);
    expect(lateCall?.state).toBe("unfinished");

    model = applyEvents(model, events as readonly ReceivedTraceEvent[]);
    expect(model.eventCount).toBe(events.length);
    expect(view(model)).toEqual(view(buildTraceModel(events)));
  });
});

describe("trace model: runs that end", () => {
  it("shows calls and approvals still open at plan_completed as never finished, not running", () => {
    const trace = traceBuilder();
    trace.add("plan_created", { goal: "Leave things open" });
    trace.add("tool_call_start", { tool: "slow", call_id: "s" });
    trace.add("tool_call_start", { tool: "quick", call_id: "q" });
    trace.add("tool_call_complete", { tool: "quick", call_id: "q" });
    trace.add("approval_requested", { approval_id: "x", tool: "pay" });
    trace.add("plan_failed", { error: "gave up" });
    const model = buildTraceModel(trace.events);

    expect(model.toolCalls.map((call) => [call.tool, call.state])).toEqual([
      ["slow", "unfinished"],
      ["quick", "success"],
    ]);
    expect(model.approvals[0]?.state).toBe("unfinished");
    expect(model.plan.outcome).toBe("failed");
  });
});
