import { describe, expect, it } from "vitest";
import { buildSpanTree, MAX_DEPTH, visibleRows } from "../../web/span-tree.js";
import { buildTraceModel } from "../../web/trace-model.js";
import { traceBuilder } from "./trace-fixtures.js";

function withSpan<T extends object>(event: T, span_id?: string, parent_id?: string): T {
  return Object.assign(event, span_id ? { span_id } : {}, parent_id ? { parent_id } : {});
}

describe("span tree", () => {
  it("nests calls under the spans and calls their parent_id names, in start order", () => {
    const trace = traceBuilder();
    withSpan(trace.add("custom", { name: "invoke_agent", agent: "planner" }), "agent-1");
    trace.wait(10);
    withSpan(trace.add("tool_call_start", { tool: "search", call_id: "t1" }), "t1", "agent-1");
    trace.wait(10);
    withSpan(trace.add("custom", { name: "invoke_agent", agent: "writer" }), "agent-2", "agent-1");
    withSpan(trace.add("llm_call_start", { call_id: "m1", model: "m" }), "m1", "agent-2");
    trace.wait(50);
    withSpan(trace.add("llm_call_complete", { call_id: "m1", model: "m" }), "m1", "agent-2");
    withSpan(trace.add("tool_call_start", { tool: "orphan", call_id: "t2" }), "t2", "not-seen");
    const model = buildTraceModel(trace.events);
    const rows = visibleRows(buildSpanTree(model.toolCalls, model.spans), new Set(), 100);

    expect(rows.map((row) => [row.node.label, row.depth])).toEqual([
      ["invoke_agent: planner", 0],
      ["search", 1],
      ["invoke_agent: writer", 1],
      ["m", 2],
      ["orphan", 0],
    ]);
    // A span runs while anything below it runs.
    expect(rows[0]?.node.endedAt).toBeUndefined();
    expect(rows[2]?.node.endedAt).toBe(rows[3]?.node.endedAt);

    const collapsed = visibleRows(buildSpanTree(model.toolCalls, model.spans), new Set(["agent-1"]), 100);
    expect(collapsed.map((row) => row.node.label)).toEqual(["invoke_agent: planner", "orphan"]);
  });

  it("breaks a parent_id cycle and caps the depth it shows", () => {
    const trace = traceBuilder();
    withSpan(trace.add("custom", { name: "a" }), "a", "b");
    withSpan(trace.add("custom", { name: "b" }), "b", "a");
    for (let i = 0; i < MAX_DEPTH + 5; i++)
      withSpan(trace.add("custom", { name: `d${i}` }), `d${i}`, i ? `d${i - 1}` : undefined);
    const model = buildTraceModel(trace.events);
    const rows = visibleRows(buildSpanTree(model.toolCalls, model.spans), new Set(), 1000);
    expect(rows).toHaveLength(MAX_DEPTH + 7);
    expect(Math.max(...rows.map((row) => row.depth))).toBe(MAX_DEPTH);
  });
});
