/** The words, tone and icon for each connection state (pure; the component only lays them out). */
import type { TraceStreamState } from "../client/subscriber-state.js";
import { formatDuration } from "./format.js";

export type Tone = "live" | "busy" | "warning" | "ended" | "danger" | "neutral";

export interface ConnectionView {
  /** Stable, for tests and styling: the client's status, with `connecting` after a loss as `reconnecting`. */
  readonly kind:
    | "idle"
    | "connecting"
    | "catching-up"
    | "live"
    | "reconnecting"
    | "ended"
    | "closed"
    | "failed";
  readonly label: string;
  /** One line that says why or what next; empty when the label says it all. */
  readonly detail: string;
  readonly tone: Tone;
  /** A text symbol, so state never rests on colour alone. */
  readonly icon: string;
  /** The user can act: reconnect now (`failed`, `closed`, waiting to reconnect). */
  readonly canRetry: boolean;
}

const FAILURE_HINTS: Partial<Record<string, string>> = {
  unauthorized: "Get a fresh token and open the link again.",
  forbidden: "The token is for another trace; ask for a token that grants this one.",
  handshake_refused: "Check the token (it may be expired or for another trace) and the URL.",
  bad_request: "Check the trace id.",
};

export function describeConnection(state: TraceStreamState): ConnectionView {
  switch (state.status) {
    case "idle":
      return {
        kind: "idle",
        label: "Not connected",
        detail: "",
        tone: "neutral",
        icon: "○",
        canRetry: false,
      };
    case "connecting":
      return state.attempt === 0
        ? { kind: "connecting", label: "Connecting", detail: "", tone: "busy", icon: "◌", canRetry: false }
        : {
            kind: "reconnecting",
            label: "Reconnecting",
            detail: `attempt ${state.attempt}: opening a new connection`,
            tone: "warning",
            icon: "↻",
            canRetry: false,
          };
    case "backfilling":
      return {
        kind: "catching-up",
        label: "Catching up",
        detail: "loading the events so far",
        tone: "busy",
        icon: "⇣",
        canRetry: false,
      };
    case "live":
      return { kind: "live", label: "Live", detail: "", tone: "live", icon: "●", canRetry: false };
    case "reconnecting":
      return {
        kind: "reconnecting",
        label: "Reconnecting",
        detail: `${capitalize(state.reason)}; attempt ${state.attempt} in ${formatDuration(state.delayMs)}`,
        tone: "warning",
        icon: "↻",
        canRetry: true,
      };
    case "ended":
      return {
        kind: "ended",
        label: "Ended",
        detail: state.event.event === "plan_failed" ? "run failed" : "run completed",
        tone: "ended",
        icon: "■",
        canRetry: false,
      };
    case "closed":
      return {
        kind: "closed",
        label: "Disconnected",
        detail: "",
        tone: "neutral",
        icon: "○",
        canRetry: true,
      };
    case "failed": {
      const hint = FAILURE_HINTS[state.code];
      return {
        kind: "failed",
        label: "Failed",
        detail: `${capitalize(state.reason)}.${hint ? ` ${hint}` : ""}`,
        tone: "danger",
        icon: "✕",
        canRetry: true,
      };
    }
  }
}

function capitalize(text: string): string {
  return text.length === 0 ? text : `${text[0]?.toUpperCase()}${text.slice(1)}`;
}
