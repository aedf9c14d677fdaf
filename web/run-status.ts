/**
 * What the page can honestly say about the run, from the model and the connection together (pure).
 * The plan card, the header and the timeline all read this one answer, so they never disagree: a
 * refused token is "failed to load" everywhere, an id with nothing stored is not a run about to
 * start, and a run that ended is not running.
 */
import type { TraceStreamStatus } from "../client/subscriber-state.js";
import type { TraceModel } from "./trace-model.js";

export type RunStatusKind =
  /** Connecting or catching up, and no event shown yet. */
  | "loading"
  /** The server answered that nothing is stored for this id (synced at -1, no events). */
  | "empty"
  | "running"
  | "completed"
  | "failed"
  /** The stream gave up (token refused, attempts exhausted) before the run's end was seen. */
  | "unavailable"
  /** The user closed the stream before the run's end was seen. */
  | "stopped";

export interface RunStatus {
  readonly kind: RunStatusKind;
  readonly icon: string;
  readonly label: string;
  readonly tone: "pending" | "success" | "error" | "muted";
  /** The line under the goal when there is no goal to show (or why the page stopped). */
  readonly headline: string | undefined;
  /** Clocks tick and pending bars grow only while this is true. */
  readonly live: boolean;
}

export interface StreamFacts {
  readonly status: TraceStreamStatus;
  /** The client's cursor: -1 until an event (or a gap) was passed. */
  readonly lastSeq: number;
  readonly eventCount: number;
  readonly missingCount: number;
  /** The failure reason, when `status` is `failed`. */
  readonly failure: string | undefined;
}

export function describeRun(model: TraceModel, stream: StreamFacts): RunStatus {
  if (model.plan.outcome === "completed") {
    return {
      kind: "completed",
      icon: "✓",
      label: "Completed",
      tone: "success",
      headline: undefined,
      live: false,
    };
  }
  if (model.plan.outcome === "failed") {
    return { kind: "failed", icon: "✕", label: "Failed", tone: "error", headline: undefined, live: false };
  }
  const nothingHeld = model.eventCount === 0 && stream.eventCount === 0 && stream.missingCount === 0;
  switch (stream.status) {
    case "failed":
      return {
        kind: "unavailable",
        icon: "✕",
        label: "Failed to load",
        tone: "error",
        headline: `Could not load this run${stream.failure ? `: ${stream.failure}` : ""}.`,
        live: false,
      };
    case "closed":
      return {
        kind: "stopped",
        icon: "○",
        label: "Not watching",
        tone: "muted",
        headline: nothingHeld ? "Disconnected before any event arrived." : undefined,
        live: false,
      };
    case "idle":
    case "connecting":
    case "backfilling":
    case "reconnecting":
      if (nothingHeld) {
        return {
          kind: "loading",
          icon: "◌",
          label: "Loading",
          tone: "muted",
          headline: "Loading the run…",
          live: false,
        };
      }
      break;
    case "live":
    case "ended":
      if (nothingHeld && stream.lastSeq === -1) {
        return {
          kind: "empty",
          icon: "○",
          label: "Nothing stored",
          tone: "muted",
          headline:
            "Nothing is stored for this trace id yet. Check the id; if its run is about to start, its events will show here as they arrive.",
          live: false,
        };
      }
      break;
  }
  return { kind: "running", icon: "◔", label: "Running", tone: "pending", headline: undefined, live: true };
}
