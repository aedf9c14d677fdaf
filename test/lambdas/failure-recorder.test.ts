import { describe, expect, it } from "vitest";
import { failureRecordBody, makeFailureRecorder } from "../../lambdas/failure-recorder/failure-recorder.js";
import { createHandler } from "../../lambdas/failure-recorder/handler.js";
import { REDACTED } from "../../protocol/index.js";
import { envelope, traceEvent } from "../support/events.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

const secret = "sk-live-abcdef0123456789";

function failureRecord(detail: unknown) {
  return {
    version: "1.0",
    timestamp: "2026-11-26T12:00:00.000Z",
    requestContext: { requestId: "req-1", functionArn: "arn:emitter:$LATEST", condition: "RetriesExhausted" },
    requestPayload: envelope(detail),
    responseContext: { statusCode: 200, functionError: "Unhandled" },
    responsePayload: { errorType: "InternalServerError", errorMessage: `store failed for Bearer ${secret}` },
  };
}

describe("failure recorder", () => {
  it("queues Lambda's failure record with the raw event redacted, keeping what identifies it", async () => {
    const sent: { body: string; attributes: object }[] = [];
    const record = makeFailureRecorder({
      queue: { send: async (body, attributes) => void sent.push({ body, attributes }) },
      log: recordingLog(),
      metrics: recordingMetrics(),
    });
    const event = traceEvent(3, { metadata: { tool: "http", api_key: secret } });
    await record(failureRecord(event));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).not.toContain(secret);
    const body = JSON.parse(sent[0]?.body ?? "{}");
    expect(body.requestPayload.detail.metadata).toEqual({ tool: "http", api_key: REDACTED });
    expect(body.requestPayload.detail.event_id).toBe(event.event_id);
    expect(body.requestContext.condition).toBe("RetriesExhausted");
    expect(sent[0]?.attributes).toEqual({ condition: "RetriesExhausted", requestId: "req-1" });
  });

  it("leaves an oversize detail out but says so", () => {
    const body = JSON.parse(failureRecordBody(failureRecord({ blob: "x".repeat(300 * 1024) })));
    expect(body.requestPayload.detail).toBeUndefined();
    expect(body.requestPayload.detail_omitted).toMatch(/too large/);
    expect(body.requestContext.requestId).toBe("req-1");
  });

  it("redacts a record whose payload nests 10,000 levels, cutting what lies past 64", async () => {
    const sent: string[] = [];
    const record = makeFailureRecorder({
      queue: { send: async (body) => void sent.push(body) },
      log: recordingLog(),
      metrics: recordingMetrics(),
    });
    let metadata: Record<string, unknown> = { password: secret };
    for (let level = 0; level < 10_000; level++) metadata = { child: metadata, api_key: secret };
    await record(failureRecord(traceEvent(3, { metadata })));
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toContain(secret);
    expect(sent[0]).toContain("[Truncated]");
    expect(JSON.parse(sent[0] ?? "{}").requestContext.requestId).toBe("req-1");
  });

  it("fails fast at cold start without FAILURE_QUEUE_URL", () => {
    expect(() => createHandler({})).toThrow(/Set FAILURE_QUEUE_URL/);
  });
});
