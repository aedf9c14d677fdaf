import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { TraceStreamClient } from "../../client/index.js";
import {
  type CreateTraceOptions,
  createTrace,
  putEventsEntrySize,
  TraceDeliveryError,
  TraceEventError,
} from "../../client/producer.js";
import { MAX_EVENT_BYTES, MAX_PUT_EVENTS_BYTES } from "../../protocol/limits.js";
import type { ReceivedTraceEvent } from "../../protocol/trace-event.js";
import { closedPort } from "../cli/run-cli.js";
import { startTestStack, storedSeqsOf, type TestStack } from "../helpers/local-stack.js";

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.stop();
});

/** The SDK pointed at the local stack, as a producer would configure it. */
function localTrace(options: CreateTraceOptions = {}) {
  return createTrace({
    endpoint: stack.endpoints.eventBridge,
    busName: stack.busName,
    source: stack.source,
    baseDelayMs: 5,
    maxDelayMs: 20,
    ...options,
  });
}

/**
 * A real client to the local stack whose `send` passes through and records each request; with
 * `fail`, chosen entries of a call are answered as failed instead of being sent (the fault an
 * emulator cannot produce on demand, injected at the SDK boundary).
 */
function recordingClient(fail?: (call: number, index: number) => string | undefined) {
  const client = new EventBridgeClient({
    endpoint: stack.endpoints.eventBridge,
    region: stack.region,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const realSend = client.send.bind(client) as (command: PutEventsCommand) => Promise<PutEventsCommandOutput>;
  const requests: PutEventsCommand["input"]["Entries"][] = [];
  vi.spyOn(client, "send").mockImplementation(async (command: unknown) => {
    if (!(command instanceof PutEventsCommand)) throw new Error("only PutEvents is expected");
    const entries = command.input.Entries ?? [];
    requests.push(entries);
    const call = requests.length;
    const failures = entries.map((_, index) => fail?.(call, index));
    const forwarded = entries.filter((_, index) => failures[index] === undefined);
    const output =
      forwarded.length > 0 ? await realSend(new PutEventsCommand({ Entries: forwarded })) : undefined;
    const results = output?.Entries ?? [];
    let next = 0;
    const merged = failures.map((code) =>
      code === undefined ? (results[next++] ?? {}) : { ErrorCode: code, ErrorMessage: `${code} (injected)` },
    );
    return {
      $metadata: { httpStatusCode: 200 },
      FailedEntryCount: merged.filter((result) => result.ErrorCode !== undefined).length,
      Entries: merged,
    } satisfies PutEventsCommandOutput;
  });
  return { client, requests };
}

/** Every event of a trace as a subscriber sees it, until the terminal event. */
async function watch(traceId: string, run: () => Promise<void>): Promise<ReceivedTraceEvent[]> {
  const events: ReceivedTraceEvent[] = [];
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
  });
  client.on("event", (event) => events.push(event));
  const ended = new Promise<void>((resolve, reject) => {
    client.on("state", (state) => {
      if (state.status === "ended") resolve();
      if (state.status === "failed") reject(new Error(state.reason));
    });
  });
  const live = new Promise<void>((resolve) =>
    client.on("state", (state) => state.status === "live" && resolve()),
  );
  client.connect();
  await live;
  await run();
  await ended;
  client.disconnect();
  return events;
}

/** Seqs stored for the trace once the deliveries in flight are done. */
async function storedSeqs(traceId: string): Promise<number[]> {
  await stack.deliveriesIdle();
  return storedSeqsOf(stack, traceId);
}

describe("producer SDK on the local stack", () => {
  it("delivers a run to a subscriber that joined first: every event once, in seq order", async () => {
    const trace = localTrace();
    const events = await watch(trace.traceId, async () => {
      trace.plan({ goal: "answer", steps: 2 });
      trace.route({ agent: "researcher", reason: "needs search" });
      const call = trace.toolCall("search", { domain: "web", side_effect_class: "read" });
      call.complete({ hits: 3 });
      const approval = trace.approval({ tool: "send_email", risk_level: "medium" });
      approval.received({ decision: "approved" });
      trace.complete({ steps_completed: 2 });
      await trace.close();
    });
    expect(events.map((event) => [event.seq, event.event])).toEqual([
      [0, "plan_created"],
      [1, "route_decision"],
      [2, "tool_call_start"],
      [3, "tool_call_complete"],
      [4, "approval_requested"],
      [5, "approval_received"],
      [6, "plan_completed"],
    ]);
  });

  it("sends 25 events as requests of 10, 10 and 5 that the emulator accepts", async () => {
    const { client, requests } = recordingClient();
    const trace = localTrace({ client });
    for (let i = 0; i < 25; i++) trace.emit("route_decision", { agent: `agent-${i}` });
    await trace.close();
    expect(requests.map((entries) => entries?.length)).toEqual([10, 10, 5]);
    expect(await storedSeqs(trace.traceId)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    client.destroy();
  });

  it("keeps requests of large events under 256 KiB, and the emulator accepts every one", async () => {
    const { client, requests } = recordingClient();
    const trace = localTrace({ client });
    const reason = "r".repeat(MAX_EVENT_BYTES - 600);
    for (let i = 0; i < 6; i++) trace.emit("route_decision", { reason });
    await trace.close();
    for (const entries of requests) {
      const size = (entries ?? []).reduce((sum, entry) => sum + putEventsEntrySize(entry), 0);
      expect(size).toBeLessThan(MAX_PUT_EVENTS_BYTES);
    }
    expect(requests.map((entries) => entries?.length)).toEqual([2, 2, 2]);
    expect(await storedSeqs(trace.traceId)).toEqual([0, 1, 2, 3, 4, 5]);
    client.destroy();
  });

  it("resends entries that failed partially; the subscriber sees every event once, in order", async () => {
    const { client, requests } = recordingClient((call, index) => {
      if (call === 1 && (index === 1 || index === 4)) return "ThrottlingException";
      if (call === 2 && index === 0) return "InternalFailure";
      return undefined;
    });
    const trace = localTrace({ client });
    const events = await watch(trace.traceId, async () => {
      trace.plan({ goal: "g" });
      for (let i = 0; i < 5; i++) trace.route({ agent: `a${i}` });
      trace.complete();
      await trace.close();
    });
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(events.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(trace.failures).toEqual([]);
    client.destroy();
  });

  it("gives every one of many concurrent emitters a distinct seq, dense and in call order", async () => {
    const trace = localTrace();
    const emitted: number[] = [];
    const events = await watch(trace.traceId, async () => {
      trace.plan({ goal: "fan out" });
      await Promise.all(
        Array.from({ length: 8 }, async (_, worker) => {
          for (let step = 0; step < 5; step++) {
            await new Promise((resolve) => setTimeout(resolve, (worker + step) % 3));
            emitted.push(trace.toolCall(`tool-${worker}`).complete().seq);
          }
        }),
      );
      trace.complete();
      await trace.close();
    });
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 82 }, (_, i) => i));
    expect(new Set(emitted).size).toBe(40);
  });

  it("redacts before sending: a secret in metadata never reaches PutEvents, nor the store", async () => {
    const { client, requests } = recordingClient();
    const trace = localTrace({ client });
    const events = await watch(trace.traceId, async () => {
      trace.toolCall("call_api", { headers: { authorization: "Bearer s3cr3t-value" }, password: "hunter2" });
      trace.complete();
      await trace.close();
    });
    expect(JSON.stringify(requests)).not.toMatch(/s3cr3t-value|hunter2/);
    expect(events[0]?.metadata).toMatchObject({
      headers: { authorization: "[REDACTED]" },
      password: "[REDACTED]",
    });
    client.destroy();
  });

  it("throws at emit for invalid and oversize events; nothing is sent and no seq is used", async () => {
    const { client, requests } = recordingClient();
    const trace = localTrace({ client });
    expect(() => trace.emit("budget_warning", { utilization: -1 })).toThrow(TraceEventError);
    expect(() => trace.emit("route_decision", { reason: "x".repeat(MAX_EVENT_BYTES) })).toThrow(
      expect.objectContaining({ code: "event_too_large" }),
    );
    trace.emit("plan_created", { goal: "valid" });
    await trace.close();
    expect(requests).toHaveLength(1);
    expect(await storedSeqs(trace.traceId)).toEqual([0]);
    client.destroy();
  });

  it("rejects close() with the failed seqs when EventBridge cannot be reached", async () => {
    const trace = createTrace({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      maxAttempts: 2,
      baseDelayMs: 1,
    });
    trace.plan();
    trace.route({ agent: "a" });
    const error = await trace.close().catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(TraceDeliveryError);
    expect((error as TraceDeliveryError).failedSeqs).toEqual([0, 1]);
    expect((error as TraceDeliveryError).failures[0]?.code).toBe("ECONNREFUSED");
  });
});
