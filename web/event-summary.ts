/** One line per event for the event list (pure). */
import { type EventStatus, isKnownEvent, type ReceivedTraceEvent } from "../protocol/trace-event.js";
import { formatDuration, formatNumber, formatPercent } from "./format.js";

export function summarizeEvent(event: ReceivedTraceEvent): string {
  if (!isKnownEvent(event)) return genericSummary(event.metadata);
  switch (event.event) {
    case "plan_created": {
      const { goal, steps, profile } = event.metadata;
      return join([
        goal,
        steps === undefined ? undefined : `${steps} steps`,
        profile && `profile ${profile}`,
      ]);
    }
    case "route_decision":
      return join([event.metadata.agent && `→ ${event.metadata.agent}`, event.metadata.reason]);
    case "tool_call_start":
      return join([event.metadata.tool, event.metadata.domain, event.metadata.side_effect_class]);
    case "tool_call_complete": {
      const { tool, duration_ms: duration, success } = event.metadata;
      return join([
        tool,
        duration === undefined ? undefined : `in ${formatDuration(duration)}`,
        success === false ? "reported failure" : undefined,
      ]);
    }
    case "tool_call_error": {
      const { tool, error, error_type: type, duration_ms: duration } = event.metadata;
      return join([
        tool,
        [type, error].filter(Boolean).join(": ") || undefined,
        duration === undefined ? undefined : `after ${formatDuration(duration)}`,
      ]);
    }
    case "budget_warning": {
      const { budget_type: type, used, limit, utilization } = event.metadata;
      return join([
        type,
        used !== undefined && limit !== undefined
          ? `${formatNumber(used)} / ${formatNumber(limit)}`
          : undefined,
        utilization === undefined ? undefined : `${formatPercent(utilization)} used`,
      ]);
    }
    case "budget_exceeded": {
      const { budget_type: type, limit, tool, domain } = event.metadata;
      return join([
        type,
        limit === undefined ? undefined : `limit ${formatNumber(limit)}`,
        tool && `by ${tool}`,
        domain && `in ${domain}`,
      ]);
    }
    case "approval_requested": {
      const { tool, risk_level: risk } = event.metadata;
      return join([tool, risk && `${risk} risk`]);
    }
    case "approval_received":
      return join([event.metadata.decision, event.metadata.reason]);
    case "approval_timeout":
      return join([
        event.metadata.approval_id && `approval ${event.metadata.approval_id}`,
        "no decision in time",
      ]);
    case "plan_completed": {
      const { steps_completed: steps, duration_ms: duration } = event.metadata;
      return join([
        steps === undefined ? undefined : `${steps} steps completed`,
        duration === undefined ? undefined : `in ${formatDuration(duration)}`,
      ]);
    }
    case "plan_failed":
      return [event.metadata.error_type, event.metadata.error].filter(Boolean).join(": ");
    case "llm_call_start":
      return join([event.metadata.model, event.metadata.provider]);
    case "llm_call_complete": {
      const { model, input_tokens: input, output_tokens: output, duration_ms: duration } = event.metadata;
      return join([
        model,
        input === undefined && output === undefined
          ? undefined
          : `${formatNumber(input ?? 0)} in / ${formatNumber(output ?? 0)} out tokens`,
        duration === undefined ? undefined : `in ${formatDuration(duration)}`,
      ]);
    }
    case "llm_call_error": {
      const { model, error, error_type: type } = event.metadata;
      return join([model, [type, error].filter(Boolean).join(": ") || undefined]);
    }
    case "custom": {
      const { name, ...rest } = event.metadata;
      return join([name, genericSummary(rest)]);
    }
  }
}

/** Events without a summary of their own: the first few scalar metadata values, `key=value`. */
function genericSummary(metadata: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (parts.length === 4) break;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      parts.push(`${key}=${String(value).slice(0, 60)}`);
    }
  }
  return join(parts);
}

/** Icon and word for an event status: the colour is never the only signal. */
export const STATUS_LOOK: Readonly<Record<EventStatus, { icon: string; word: string }>> = {
  pending: { icon: "◔", word: "pending" },
  success: { icon: "✓", word: "success" },
  error: { icon: "✕", word: "error" },
  warning: { icon: "⚠", word: "warning" },
};

function join(parts: readonly (string | undefined | false | "")[]): string {
  return parts.filter((part): part is string => typeof part === "string" && part !== "").join(" · ");
}
