import type { Trace } from "../../client/producer.js";
import type { TraceEvent } from "../../protocol/trace-event.js";

export interface DemoPacing {
  /** 1 is human pace (about 20 s); 10 is ten times faster. */
  readonly speed: number;
  /** Stops the run between steps. */
  readonly signal: AbortSignal;
}

/** Every event the demo emits, in order: what a `tail` of its trace must show. */
export const DEMO_EVENTS = [
  "plan_created",
  "route_decision",
  "tool_call_start",
  "tool_call_complete",
  "tool_call_start",
  "tool_call_complete",
  "tool_call_start",
  "tool_call_error",
  "tool_call_start",
  "tool_call_complete",
  "budget_warning",
  "approval_requested",
  "approval_received",
  "tool_call_start",
  "tool_call_complete",
  "tool_call_start",
  "tool_call_complete",
  "plan_completed",
] as const;

class Interrupted extends Error {}

/**
 * A support agent handling a refund: it plans, routes to a billing specialist, looks the order up,
 * reads policy, hits a payment-service timeout and retries, gets close to its token budget, asks
 * a human before moving money, refunds, writes to the customer and completes. Pauses are human
 * scale at speed 1. Calls `show` with each event as it is emitted and waits for it, so `show` can
 * wait for the event's delivery (and throw to stop the run when it fails).
 */
export async function runDemo(
  trace: Trace,
  pacing: DemoPacing,
  show: (event: TraceEvent) => void | Promise<void>,
): Promise<void> {
  const pause = (ms: number) => sleep(jitter(ms) / pacing.speed, pacing.signal);
  const tool = async (
    name: string,
    options: { domain: string; side_effect_class: string },
    durationMs: number,
    outcome: { result?: Record<string, unknown>; error?: Error },
  ) => {
    const call = trace.toolCall(name, options);
    await show(call.startEvent);
    await pause(durationMs);
    await show(outcome.error === undefined ? call.complete(outcome.result) : call.fail(outcome.error));
  };

  await show(
    trace.plan({
      goal: "Resolve the refund request on order #48213",
      steps: 5,
      profile: "enterprise",
      total_budget: { tokens: 20_000, usd: 0.5 },
    }),
  );
  await pause(900);
  await show(
    trace.route({ agent: "billing-specialist", reason: "the request names an order and asks for a refund" }),
  );
  await pause(600);
  await tool("lookup_order", { domain: "commerce", side_effect_class: "read" }, 850, {
    result: { order_id: "48213", items: 2, total_usd: 129.9 },
  });
  await pause(500);
  await tool("search_refund_policy", { domain: "knowledge", side_effect_class: "read" }, 1200, {
    result: { matches: 3, policy: "refund-within-30-days" },
  });
  await pause(700);
  await tool("fetch_payment_status", { domain: "payments", side_effect_class: "read" }, 2300, {
    error: Object.assign(new Error("payment service did not answer within 2000 ms"), {
      name: "TimeoutError",
    }),
  });
  await pause(1000);
  await tool("fetch_payment_status", { domain: "payments", side_effect_class: "read" }, 700, {
    result: { status: "settled", retry_of: "fetch_payment_status" },
  });
  await pause(400);
  await show(trace.budgetWarning({ budget_type: "tokens", used: 16_400, limit: 20_000 }));
  await pause(800);
  const approval = trace.approval({
    tool: "issue_refund",
    risk_level: "high",
    amount_usd: 129.9,
    expires_at: new Date(Date.now() + 24 * 3600 * 1000),
  });
  await show(approval.requestEvent);
  await pause(3500);
  await show(
    approval.received({
      decision: "approved",
      reason: "within the 30-day refund policy",
      approver: "ops-oncall",
    }),
  );
  await pause(500);
  await tool("issue_refund", { domain: "payments", side_effect_class: "write" }, 1500, {
    result: { refund_id: "rf_9c41", amount_usd: 129.9 },
  });
  await pause(600);
  await tool("draft_outbound_message", { domain: "communications", side_effect_class: "write" }, 900, {
    result: { channel: "email", words: 86 },
  });
  await pause(500);
  await show(trace.complete({ steps_completed: 5 }));
}

export function isInterrupted(error: unknown): boolean {
  return error instanceof Interrupted;
}

/** ±25 % so the run does not tick like a metronome. */
function jitter(ms: number): number {
  return ms * (0.75 + Math.random() * 0.5);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Interrupted("interrupted"));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Interrupted("interrupted"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
