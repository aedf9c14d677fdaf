import { describe, expect, it } from "vitest";
import type { TraceStreamState } from "../../client/subscriber-state.js";
import { describeConflicts } from "../../web/conflict-view.js";
import { describeConnection } from "../../web/connection-view.js";
import { summarizeEvent } from "../../web/event-summary.js";
import { formatDuration, formatOffset, formatTick, formatTimeLeft, tickStep } from "../../web/format.js";
import { traceBuilder } from "./trace-fixtures.js";

describe("connection state as people read it", () => {
  const cases: Array<[TraceStreamState, string, string]> = [
    [{ status: "connecting", attempt: 0 }, "connecting", "Connecting"],
    [{ status: "connecting", attempt: 2 }, "reconnecting", "Reconnecting"],
    [{ status: "backfilling" }, "catching-up", "Catching up"],
    [{ status: "live" }, "live", "Live"],
    [{ status: "closed", code: "client_closed", reason: "closed by the page" }, "closed", "Disconnected"],
  ];
  it.each(cases)("%j reads as %s", (state, kind, label) => {
    expect(describeConnection(state)).toMatchObject({ kind, label });
  });

  it("says why it is reconnecting and when it tries again", () => {
    const view = describeConnection({
      status: "reconnecting",
      attempt: 1,
      delayMs: 1200,
      code: "going_away",
      reason: "the server closed the connection (1001)",
    });
    expect(view).toMatchObject({ kind: "reconnecting", tone: "warning", canRetry: true });
    expect(view.detail).toBe("The server closed the connection (1001); attempt 1 in 1.2 s");
  });

  it("gives the failure reason and what to do about a refused token", () => {
    const view = describeConnection({
      status: "failed",
      code: "handshake_refused",
      reason: "4 handshakes in a row failed while online: the token was most likely refused",
    });
    expect(view).toMatchObject({ kind: "failed", label: "Failed", icon: "✕", canRetry: true });
    expect(view.detail).toContain("4 handshakes in a row failed");
    expect(view.detail).toContain("Check the token");
  });

  it("says how the run ended", () => {
    const trace = traceBuilder();
    const failed = trace.add("plan_failed", { error: "x" });
    expect(
      describeConnection({ status: "ended", code: "terminal_event", reason: "ended", event: failed }),
    ).toMatchObject({ kind: "ended", label: "Ended", detail: "run failed" });
  });
});

describe("the banner of a reused trace id", () => {
  it("says how many events were refused, which seqs as ranges, and what to do", () => {
    const view = describeConflicts({ count: 18, more: false, seqs: [0, 1, 2, 3, 5, 9, 10] });
    expect(view.title).toBe("Another run reused this trace id: 18 events were refused.");
    expect(view.detail).toContain("(#0–3, #5, #9–10)");
    expect(view.detail).toContain("seq_conflict");
    expect(view.detail).toMatch(/its own trace id \(newTraceId\(\) in the SDKs, or leave out --trace\)/);
  });

  it("says one event, and more than the count when the server stopped counting", () => {
    expect(describeConflicts({ count: 1, more: false, seqs: [4] }).title).toBe(
      "Another run reused this trace id: 1 event was refused.",
    );
    expect(describeConflicts({ count: 1000, more: true, seqs: [] }).title).toBe(
      "Another run reused this trace id: more than 1,000 events were refused.",
    );
  });

  it("writes at most six ranges", () => {
    const seqs = Array.from({ length: 20 }, (_, i) => i * 2);
    expect(describeConflicts({ count: 20, more: false, seqs }).detail).toContain(
      "(#0, #2, #4, #6, #8, #10, …)",
    );
  });
});

describe("event summaries", () => {
  it("writes one line per event with its essentials", () => {
    const trace = traceBuilder();
    expect(summarizeEvent(trace.add("plan_created", { goal: "Refund", steps: 3, profile: "fast" }))).toBe(
      "Refund · 3 steps · profile fast",
    );
    expect(summarizeEvent(trace.add("tool_call_complete", { tool: "lookup", duration_ms: 1250 }))).toBe(
      "lookup · in 1.2 s",
    );
    expect(
      summarizeEvent(
        trace.add("tool_call_error", { tool: "pay", error: "timed out", error_type: "Timeout" }),
      ),
    ).toBe("pay · Timeout: timed out");
    expect(
      summarizeEvent(
        trace.add("budget_warning", { budget_type: "tokens", used: 16400, limit: 20000, utilization: 0.82 }),
      ),
    ).toBe("tokens · 16,400 / 20,000 · 82% used");
    expect(summarizeEvent(trace.add("approval_requested", { tool: "refund", risk_level: "high" }))).toBe(
      "refund · high risk",
    );
    expect(summarizeEvent(trace.add("route_decision", {}))).toBe("");
  });
});

describe("formatting", () => {
  it("writes durations at a useful precision", () => {
    expect([0, 850, 1250, 14_900, 125_000, 3_720_000].map(formatDuration)).toEqual([
      "0 ms",
      "850 ms",
      "1.2 s",
      "14 s",
      "2 min 05 s",
      "1 h 02 min",
    ]);
    expect(formatDuration(Number.NaN)).toBe("–");
  });

  it("counts down to a deadline and past it", () => {
    expect(formatTimeLeft(70_000, 0)).toBe("expires in 1 min 10 s");
    expect(formatTimeLeft(0, 3_000)).toBe("expired 3.0 s ago");
  });

  it("writes offsets from the run's start", () => {
    expect(formatOffset(0)).toBe("+0.000 s");
    expect(formatOffset(12_345)).toBe("+12.345 s");
    expect(formatOffset(123_456)).toBe("+2:03.456");
  });

  it("picks 1-2-5 axis steps with at most six intervals", () => {
    expect(tickStep(3_000)).toBe(500);
    expect(tickStep(20_000)).toBe(5_000);
    expect(tickStep(100)).toBe(20);
    expect([0, 500, 2_000, 90_000].map(formatTick)).toEqual(["0 s", "500 ms", "2 s", "1 min 30 s"]);
  });
});
