/** How the runs list shows runs (pure, so tests pin the order and the words). */
import { isStalled, type RunSummaryWire } from "../client/runs-client.js";

export type RunState = "running" | "stalled" | "completed" | "failed";

/** A running run becomes stalled after this long without an event, unless configured otherwise. */
export const DEFAULT_STALLED_AFTER_MS = 120_000;

export function runState(run: RunSummaryWire, now: number, stalledAfterMs: number): RunState {
  return isStalled(run, now, stalledAfterMs) ? "stalled" : run.status;
}

/** Active runs (running, not stalled) first, then the rest; each group newest first. */
export function orderRuns(
  runs: readonly RunSummaryWire[],
  now: number,
  stalledAfterMs: number,
): RunSummaryWire[] {
  const active = (run: RunSummaryWire) => runState(run, now, stalledAfterMs) === "running";
  return [...runs].sort((a, b) => {
    if (active(a) !== active(b)) return active(a) ? -1 : 1;
    if (a.started_at !== b.started_at) return b.started_at - a.started_at;
    return a.trace_id < b.trace_id ? 1 : -1;
  });
}

/** How long the run has taken: until now while it runs, until its last event otherwise. */
export function runDuration(run: RunSummaryWire, now: number, stalledAfterMs: number): number {
  const end = runState(run, now, stalledAfterMs) === "running" ? now : run.last_event_at;
  return Math.max(0, end - run.started_at);
}

export const RUN_STATE_LABELS: Readonly<Record<RunState, { readonly icon: string; readonly label: string }>> =
  {
    running: { icon: "●", label: "Running" },
    stalled: { icon: "◌", label: "Stalled" },
    completed: { icon: "✓", label: "Completed" },
    failed: { icon: "✕", label: "Failed" },
  };

/** `?stalledAfter=SECONDS` on the page URL, else the default (bad values fall back too). */
export function stalledAfterFromSearch(search: string): number {
  const raw = new URLSearchParams(search).get("stalledAfter");
  const seconds = raw === null ? Number.NaN : Number(raw);
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= 86_400
    ? seconds * 1000
    : DEFAULT_STALLED_AFTER_MS;
}
