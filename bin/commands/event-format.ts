import {
  type EventName,
  type EventStatus,
  isKnownEvent,
  type ReceivedTraceEvent,
} from "../../protocol/trace-event.js";
import type { Environment, Output } from "./command.js";

/** Colour when writing to a terminal, unless NO_COLOR is set (https://no-color.org); FORCE_COLOR forces it. */
export function shouldColor(output: Output, env: Environment): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return output.isTTY === true;
}

const ANSI = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  cyan: "\x1b[36m",
} as const;
type Style = Exclude<keyof typeof ANSI, "reset">;

export type Paint = (style: Style, text: string) => string;

export function painter(color: boolean): Paint {
  return color ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}` : (_style, text) => text;
}

const STATUS: Readonly<Record<EventStatus, { symbol: string; style: Style }>> = {
  success: { symbol: "✓", style: "green" },
  error: { symbol: "✗", style: "red" },
  warning: { symbol: "!", style: "yellow" },
  pending: { symbol: "…", style: "cyan" },
};

type Metadata = Readonly<Record<string, unknown>>;

const text = (value: unknown): string | undefined =>
  value === undefined || value === null
    ? undefined
    : typeof value === "string"
      ? value
      : JSON.stringify(value);

const ms = (value: unknown): string | undefined =>
  typeof value === "number"
    ? value >= 1000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`
    : undefined;

/** `1 step`, `5 steps`; a value that is not a number is shown as it is, with the plural. */
export function count(value: unknown, noun: string): string | undefined {
  const shown = text(value);
  if (shown === undefined) return undefined;
  return `${shown} ${value === 1 ? noun : `${noun}s`}`;
}

const shortId = (value: unknown): string | undefined => {
  const id = text(value);
  return id === undefined ? undefined : id.length > 8 ? id.slice(0, 8) : id;
};

/** The few metadata values worth a glance, per event; the rest is one `--json` away. */
const SUMMARY: Readonly<Record<EventName, (m: Metadata) => (string | undefined)[]>> = {
  plan_created: (m) => [text(m.goal), count(m.steps, "step"), text(m.profile)],
  route_decision: (m) => [m.agent === undefined ? undefined : `→ ${text(m.agent)}`, text(m.reason)],
  tool_call_start: (m) => [
    text(m.tool),
    bracket(text(m.domain), text(m.side_effect_class)),
    tag("call", shortId(m.call_id)),
  ],
  tool_call_complete: (m) => [text(m.tool), ms(m.duration_ms), tag("call", shortId(m.call_id))],
  tool_call_error: (m) => [
    text(m.tool),
    ms(m.duration_ms),
    [text(m.error_type), text(m.error)].filter(Boolean).join(": ") || undefined,
    tag("call", shortId(m.call_id)),
  ],
  budget_warning: (m) => [
    text(m.budget_type),
    m.used === undefined ? undefined : `${text(m.used)}/${text(m.limit)}`,
    typeof m.utilization === "number" ? `${Math.round(m.utilization * 100)}%` : undefined,
  ],
  budget_exceeded: (m) => [text(m.budget_type), tag("limit", text(m.limit)), text(m.tool), text(m.domain)],
  approval_requested: (m) => [
    text(m.tool),
    tag("risk", text(m.risk_level)),
    tag("id", shortId(m.approval_id)),
  ],
  approval_received: (m) => [text(m.decision), text(m.reason), tag("id", shortId(m.approval_id))],
  approval_timeout: (m) => [tag("id", shortId(m.approval_id))],
  plan_completed: (m) => [count(m.steps_completed, "step"), ms(m.duration_ms)],
  plan_failed: (m) => [[text(m.error_type), text(m.error)].filter(Boolean).join(": ") || undefined],
  llm_call_start: (m) => [text(m.model), text(m.provider), tag("call", shortId(m.call_id))],
  llm_call_complete: (m) => [
    text(m.model),
    m.input_tokens === undefined && m.output_tokens === undefined
      ? undefined
      : `${text(m.input_tokens) ?? 0}→${text(m.output_tokens) ?? 0} tokens`,
    typeof m.cost_usd === "number" ? `$${m.cost_usd.toFixed(4)}` : undefined,
    ms(m.duration_ms),
    tag("call", shortId(m.call_id)),
  ],
  llm_call_error: (m) => [
    text(m.model),
    ms(m.duration_ms),
    [text(m.error_type), text(m.error)].filter(Boolean).join(": ") || undefined,
    tag("call", shortId(m.call_id)),
  ],
  custom: (m) => [text(m.name), ...generic(m, 3, "name")],
};

/**
 * Events without a summary of their own (names newer than this CLI): the first few scalar
 * metadata values as `key=value`.
 */
function generic(m: Metadata, limit: number, skip?: string): string[] {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(m)) {
    if (parts.length === limit) break;
    if (key === skip) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      parts.push(`${key}=${String(value).slice(0, 60)}`);
    }
  }
  return parts;
}

function tag(name: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : `${name}=${value}`;
}

function bracket(...parts: (string | undefined)[]): string | undefined {
  const present = parts.filter((part): part is string => part !== undefined);
  return present.length === 0 ? undefined : `(${present.join(", ")})`;
}

const EVENT_WIDTH = Math.max(...Object.keys(SUMMARY).map((name) => name.length));

/** One human-readable line: local time, seq, status, event name, a short summary. */
export function formatEvent(event: ReceivedTraceEvent, paint: Paint): string {
  const time = new Date(event.timestamp).toTimeString().slice(0, 8);
  const millis = event.timestamp.slice(19, 23);
  const status = STATUS[event.status];
  const metadata = event.metadata as Metadata;
  const summary = (isKnownEvent(event) ? SUMMARY[event.event](metadata) : generic(metadata, 4))
    .filter((part): part is string => part !== undefined && part !== "")
    .join("  ");
  return [
    paint("dim", `${time}${millis.startsWith(".") ? millis : ""}`),
    paint("dim", `#${String(event.seq).padEnd(4)}`),
    paint(status.style, `${status.symbol} ${event.event.padEnd(EVENT_WIDTH)}`),
    summary,
  ]
    .join(" ")
    .trimEnd();
}
