import { useMemo, useRef } from "react";
import type { ReceivedTraceEvent } from "../protocol/trace-event.js";
import { applyEvents, EMPTY_TRACE_MODEL, type TraceModel } from "./trace-model.js";

/**
 * The model of `traceId`, folded forward from the previous render's model with the events it has
 * not seen (the client's window may release old events; the model keeps their totals).
 */
export function useTraceModel(traceId: string, events: readonly ReceivedTraceEvent[]): TraceModel {
  const previous = useRef<{ traceId: string; model: TraceModel } | null>(null);
  return useMemo(() => {
    const base = previous.current?.traceId === traceId ? previous.current.model : EMPTY_TRACE_MODEL;
    // Idempotent: folding the same events into the same model again returns it unchanged.
    const model = applyEvents(base, events);
    previous.current = { traceId, model };
    return model;
  }, [traceId, events]);
}
