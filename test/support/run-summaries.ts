import type { RunSummaryWire } from "../../protocol/frames.js";

/** A run summary as the server sends it: a running run with nothing counted yet, then `fields`. */
export function runSummary(traceId: string, fields: Partial<RunSummaryWire> = {}): RunSummaryWire {
  return {
    trace_id: traceId,
    status: "running",
    started_at: 0,
    last_event_at: 0,
    tool_calls: 0,
    errors: 0,
    model_calls: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    ...fields,
  };
}
