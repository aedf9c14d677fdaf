import { describe, expect, it } from "vitest";
import {
  createTrace,
  putEventsEntrySize,
  TraceDeliveryError,
  TraceEventError,
  TraceStateError,
} from "../../client/producer.js";
import { MAX_EVENT_BYTES, MAX_PUT_EVENTS_BYTES, utf8Bytes } from "../../protocol/limits.js";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import { accepted, failedWith, fakeEventBridge, sdkError } from "./fake-event-bridge.js";

const fast = { baseDelayMs: 1, maxDelayMs: 2 };

describe("createTrace", () => {
  it("knows its trace id before anything is sent, a UUID by default", () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    expect(trace.traceId).toMatch(TRACE_ID_PATTERN);
    expect(trace.traceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(createTrace({ client: bus.client, traceId: "run-42" }).traceId).toBe("run-42");
    expect(bus.requests).toHaveLength(0);
  });

  it("refuses a trace id the protocol would refuse, with a TraceEventError", () => {
    expect(() => createTrace({ traceId: "has spaces" })).toThrow(TraceEventError);
    expect(() => createTrace({ traceId: "" })).toThrow(/trace_id/);
  });
});

describe("emit", () => {
  it("sends PutEvents entries with Source, DetailType = event name, Detail = the event JSON, and the bus", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, traceId: "t-1", busName: "my-bus", source: "my-source" });
    const event = trace.emit("route_decision", { agent: "researcher", reason: "needs search" });
    await trace.flush();
    expect(bus.requests).toEqual([
      [
        {
          Source: "my-source",
          DetailType: "route_decision",
          Detail: JSON.stringify(event),
          EventBusName: "my-bus",
        },
      ],
    ]);
    expect(event).toMatchObject({
      trace_id: "t-1",
      seq: 0,
      event: "route_decision",
      status: "success",
      schema_version: 1,
      metadata: { agent: "researcher", reason: "needs search" },
    });
    expect(event.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
  });

  it("defaults to the bus and source named trace-stream", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    trace.emit("plan_created", { goal: "g" });
    await trace.close();
    expect(bus.requests[0]?.[0]).toMatchObject({ Source: "trace-stream", EventBusName: "trace-stream" });
  });

  it("uses the event's typical status unless one is given", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    expect(trace.emit("tool_call_start", { tool: "x" }).status).toBe("pending");
    expect(trace.emit("budget_exceeded", { limit: 1 }).status).toBe("warning");
    expect(trace.emit("approval_received", { decision: "rejected" }, "error").status).toBe("error");
  });

  it("assigns dense seqs in call order when many tasks emit concurrently", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, task) => {
        for (let step = 0; step < 5; step++) {
          await new Promise((resolve) => setTimeout(resolve, (task * 7 + step * 3) % 4));
          order.push(trace.emit("route_decision", { agent: `task-${task}`, reason: `step ${step}` }).seq);
        }
      }),
    );
    await trace.close();
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const sent = bus.detailsOf(bus.delivered).map((event) => event.seq);
    expect(sent).toEqual(order);
  });

  it("continues a trace from nextSeq", () => {
    const trace = createTrace({ client: fakeEventBridge().client, nextSeq: 7 });
    expect(trace.emit("plan_created").seq).toBe(7);
    expect(trace.nextSeq).toBe(8);
  });

  it("throws TraceEventError for an invalid event at emit, sends nothing and consumes no seq", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    // @ts-expect-error: an unknown event name, as a JavaScript caller could pass it
    expect(() => trace.emit("plan_started", {})).toThrow(TraceEventError);
    const error = catchError(() => trace.emit("budget_warning", { utilization: 2 }));
    expect(error).toBeInstanceOf(TraceEventError);
    expect((error as TraceEventError).code).toBe("invalid_event");
    expect((error as TraceEventError).reason).toMatch(/metadata\.utilization/);
    expect(trace.nextSeq).toBe(0);
    expect(trace.emit("plan_created", { goal: "valid" }).seq).toBe(0);
    await trace.close();
    expect(bus.detailsOf(bus.delivered).map((event) => event.seq)).toEqual([0]);
  });

  it("throws TraceEventError event_too_large for an event over 96 KiB, before sending, consuming no seq", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    trace.emit("plan_created", { goal: "small" });
    const error = catchError(() => trace.emit("route_decision", { reason: "x".repeat(MAX_EVENT_BYTES) }));
    expect(error).toBeInstanceOf(TraceEventError);
    expect((error as TraceEventError).code).toBe("event_too_large");
    expect(trace.emit("route_decision", { reason: "fits" }).seq).toBe(1);
    await trace.close();
    expect(bus.detailsOf(bus.delivered).map((event) => event.seq)).toEqual([0, 1]);
  });

  it("redacts secrets before they leave the process: no secret reaches PutEvents", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const event = trace.emit("tool_call_start", {
      tool: "http_get",
      api_key: "sk-live-123456",
      headers: { Authorization: "Bearer abc.def.ghi" },
      args: [{ password: "hunter2" }, `token=${jwt}`],
      note: "key AKIAABCDEFGHIJKLMNOP used",
      max_tokens: 512,
    });
    await trace.close();
    const wire = JSON.stringify(bus.requests);
    for (const secret of ["sk-live-123456", "abc.def.ghi", "hunter2", jwt, "AKIAABCDEFGHIJKLMNOP"]) {
      expect(wire).not.toContain(secret);
    }
    expect(event.metadata).toMatchObject({ api_key: "[REDACTED]", max_tokens: 512 });
  });
});

describe("batching", () => {
  it("sends at most 10 entries per PutEvents request", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    for (let i = 0; i < 25; i++) trace.emit("route_decision", { agent: `a${i}` });
    await trace.flush();
    expect(bus.requests.map((request) => request.length)).toEqual([10, 10, 5]);
    expect(bus.detailsOf(bus.delivered).map((event) => event.seq)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
  });

  it("keeps each request's entry size, computed as AWS does, below 256 KiB", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client });
    // ~90 KiB per event (multi-byte text counts by UTF-8 bytes): two fit a request, three do not.
    for (let i = 0; i < 5; i++) trace.emit("route_decision", { reason: "é".repeat(45 * 1024) });
    await trace.flush();
    expect(bus.requests.map((request) => request.length)).toEqual([2, 2, 1]);
    for (const request of bus.requests) {
      const size = request.reduce((sum, entry) => sum + putEventsEntrySize(entry), 0);
      expect(size).toBeLessThan(MAX_PUT_EVENTS_BYTES);
    }
  });

  it("computes the entry size from Source, DetailType, Detail, Resources (UTF-8) and 14 bytes for Time", () => {
    expect(
      putEventsEntrySize({
        Source: "src",
        DetailType: "plan_created",
        Detail: '{"a":"é"}',
        EventBusName: "x",
      }),
    ).toBe(3 + 12 + utf8Bytes('{"a":"é"}'));
    expect(
      putEventsEntrySize({ Source: "s", DetailType: "d", Time: new Date(), Resources: ["ab", "ç"] }),
    ).toBe(1 + 1 + 14 + 2 + 2);
  });
});

describe("delivery failures", () => {
  it("resends entries that failed with a retryable code until they are accepted", async () => {
    const failuresToInject = new Map([
      [1, ["ThrottlingException"]],
      [3, ["InternalFailure", "ThrottlingException"]],
    ]);
    const bus = fakeEventBridge((entries) =>
      entries.map((entry) => {
        const seq = (JSON.parse(entry.Detail ?? "{}") as { seq: number }).seq;
        const code = failuresToInject.get(seq)?.shift();
        return code === undefined ? accepted() : failedWith(code);
      }),
    );
    const trace = createTrace({ client: bus.client, ...fast });
    for (let i = 0; i < 6; i++) trace.emit("route_decision", { agent: `a${i}` });
    await trace.close();
    expect(bus.detailsOf(bus.requests[0] ?? []).map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(bus.detailsOf(bus.requests[1] ?? []).map((event) => event.seq)).toEqual([1, 3]);
    expect(bus.detailsOf(bus.requests[2] ?? []).map((event) => event.seq)).toEqual([3]);
    expect(bus.requests).toHaveLength(3);
    const seqs = bus.detailsOf(bus.delivered).map((event) => event.seq);
    expect(seqs).toEqual([0, 2, 4, 5, 1, 3]);
    expect(trace.failures).toEqual([]);
  });

  it("does not resend an entry that failed with a non-retryable code, and flush() names its seq", async () => {
    const bus = fakeEventBridge((entries) =>
      entries.map((entry) =>
        entry.Detail?.includes('"seq":1,') ? failedWith("MalformedDetail") : accepted(),
      ),
    );
    const trace = createTrace({ client: bus.client, ...fast });
    for (let i = 0; i < 3; i++) trace.emit("route_decision", { agent: `a${i}` });
    const error = await trace.flush().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(TraceDeliveryError);
    expect((error as TraceDeliveryError).failedSeqs).toEqual([1]);
    expect((error as TraceDeliveryError).failures[0]).toMatchObject({ code: "MalformedDetail", attempts: 1 });
    expect(bus.requests).toHaveLength(1);
  });

  it("gives up after maxAttempts and rejects close() with the failed seqs", async () => {
    const bus = fakeEventBridge((entries) =>
      entries.map((entry) =>
        entry.Detail?.includes('"seq":0,') ? failedWith("ThrottlingException") : accepted(),
      ),
    );
    const reported: TraceDeliveryError[] = [];
    const trace = createTrace({
      client: bus.client,
      maxAttempts: 4,
      ...fast,
      onDeliveryError: (error) => reported.push(error),
    });
    trace.emit("plan_created", { goal: "g" });
    trace.emit("route_decision", { agent: "a" });
    const error = await trace.close().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(TraceDeliveryError);
    expect((error as TraceDeliveryError).failedSeqs).toEqual([0]);
    expect((error as TraceDeliveryError).failures[0]).toMatchObject({
      code: "ThrottlingException",
      attempts: 4,
    });
    expect(bus.requests).toHaveLength(4);
    expect(reported.map((report) => report.failedSeqs)).toEqual([[0]]);
  });

  it("retries a request that failed as a whole with a network error, then reports its code", async () => {
    const bus = fakeEventBridge(() => {
      throw sdkError("Error", { code: "ECONNREFUSED" });
    });
    const trace = createTrace({ client: bus.client, maxAttempts: 3, ...fast });
    trace.emit("plan_created");
    const error = await trace.flush().catch((reason: unknown) => reason);
    expect((error as TraceDeliveryError).failures).toEqual([
      expect.objectContaining({ seq: 0, code: "ECONNREFUSED", attempts: 3 }),
    ]);
    expect(bus.requests).toHaveLength(3);
  });

  it("does not retry a request refused as a whole (access denied)", async () => {
    const bus = fakeEventBridge(() => {
      throw sdkError("AccessDeniedException", { $fault: "client", $metadata: { httpStatusCode: 400 } });
    });
    const trace = createTrace({ client: bus.client, ...fast });
    trace.emit("plan_created");
    trace.emit("route_decision");
    const error = await trace.flush().catch((reason: unknown) => reason);
    expect((error as TraceDeliveryError).failedSeqs).toEqual([0, 1]);
    expect(bus.requests).toHaveLength(1);
  });

  it("keeps sending later events after a failure, and every later flush still reports the gap", async () => {
    let refuse = true;
    const bus = fakeEventBridge((entries) =>
      entries.map(() => (refuse ? failedWith("MalformedDetail") : accepted())),
    );
    const trace = createTrace({ client: bus.client, ...fast });
    trace.emit("plan_created");
    await expect(trace.flush()).rejects.toThrow(TraceDeliveryError);
    refuse = false;
    trace.emit("route_decision");
    await expect(trace.flush()).rejects.toMatchObject({ failedSeqs: [0] });
    expect(bus.detailsOf(bus.delivered).map((event) => event.seq)).toEqual([1]);
  });
});

describe("flush and close", () => {
  it("flush() waits for every event emitted so far", async () => {
    const bus = fakeEventBridge();
    const trace = createTrace({ client: bus.client, lingerMs: 50 });
    trace.emit("plan_created");
    trace.emit("route_decision");
    expect(trace.pending).toBe(2);
    await trace.flush();
    expect(trace.pending).toBe(0);
    expect(bus.delivered).toHaveLength(2);
  });

  it("close() stops accepting events with a TraceStateError", async () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    await trace.close();
    const error = catchError(() => trace.emit("plan_created"));
    expect(error).toBeInstanceOf(TraceStateError);
    expect((error as TraceStateError).code).toBe("trace_closed");
    await trace.close();
  });
});

describe("helpers", () => {
  it("toolCall emits start, then complete with the same call_id and a duration", async () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    const call = trace.toolCall("search", { domain: "web", side_effect_class: "read" });
    expect(call.startEvent).toMatchObject({
      event: "tool_call_start",
      status: "pending",
      metadata: { tool: "search", domain: "web", side_effect_class: "read", call_id: call.callId },
    });
    const done = call.complete({ results: 3 });
    expect(done).toMatchObject({
      event: "tool_call_complete",
      status: "success",
      metadata: { tool: "search", call_id: call.callId, success: true, results: 3 },
    });
    expect(done.metadata.duration_ms).toBeGreaterThanOrEqual(0);
    expect(() => call.fail(new Error("late"))).toThrow(TraceStateError);
    await trace.close();
  });

  it("toolCall fail emits tool_call_error with the error's message and type", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    const call = trace.toolCall("send_email", { call_id: "c-1" });
    const event = call.fail(new TypeError("recipient missing"));
    expect(event).toMatchObject({
      event: "tool_call_error",
      status: "error",
      metadata: { tool: "send_email", call_id: "c-1", error: "recipient missing", error_type: "TypeError" },
    });
  });

  it("withToolCall completes on success and records then rethrows a failure", async () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    await expect(trace.withToolCall("a", {}, async () => 5)).resolves.toBe(5);
    await expect(
      trace.withToolCall("b", {}, async () => {
        throw new RangeError("boom");
      }),
    ).rejects.toThrow("boom");
    expect(trace.nextSeq).toBe(4);
  });

  it("approval emits requested, then received (rejected is an error) or timeout, once", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    const approval = trace.approval({ tool: "wire_money", risk_level: "high", expires_at: new Date(0) });
    expect(approval.requestEvent.metadata).toMatchObject({
      approval_id: approval.approvalId,
      expires_at: "1970-01-01T00:00:00.000Z",
    });
    expect(approval.received({ decision: "rejected", reason: "too much" })).toMatchObject({
      event: "approval_received",
      status: "error",
      metadata: { approval_id: approval.approvalId, decision: "rejected" },
    });
    expect(() => approval.timeout()).toThrow(TraceStateError);
    expect(trace.approval({ approval_id: "ap-2" }).timeout()).toMatchObject({
      event: "approval_timeout",
      metadata: { approval_id: "ap-2" },
    });
  });

  it("budgetWarning computes utilization from used and limit", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    expect(trace.budgetWarning({ budget_type: "tokens", used: 800, limit: 1000 }).metadata).toMatchObject({
      utilization: 0.8,
    });
    expect(trace.budgetExceeded({ budget_type: "tokens", limit: 1000 }).event).toBe("budget_exceeded");
  });

  it("complete() ends the trace: later emits throw trace_ended", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    trace.plan({ goal: "g", steps: 1 });
    const done = trace.complete({ steps_completed: 1 });
    expect(done).toMatchObject({ event: "plan_completed", status: "success" });
    expect(done.metadata.duration_ms).toBeGreaterThanOrEqual(0);
    expect(trace.ended).toBe(true);
    const error = catchError(() => trace.fail(new Error("late")));
    expect((error as TraceStateError).code).toBe("trace_ended");
  });

  it("fail() emits plan_failed with the error's message and type", () => {
    const trace = createTrace({ client: fakeEventBridge().client });
    expect(trace.fail(new Error("out of budget"))).toMatchObject({
      event: "plan_failed",
      status: "error",
      metadata: { error: "out of budget", error_type: "Error" },
    });
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
