import { describe, expect, it } from "vitest";
import {
  ClientMessage,
  conflictFrame,
  conflictsFrame,
  MAX_EVENT_BYTES,
  MAX_FRAME_BYTES,
  parseServerFrame,
  replayFrames,
  ServerFrame,
  TARGET_BATCH_BYTES,
  utf8Bytes,
} from "../../protocol/index.js";
import { traceEvent } from "../support/events.js";

describe("replay frames", () => {
  it("packs events in ascending order into frames of at most 32 KiB", () => {
    const events = Array.from({ length: 2000 }, (_, seq) => traceEvent(seq));
    const frames = replayFrames("trace-1", events);
    expect(frames.length).toBeGreaterThan(1);
    const seqs: number[] = [];
    for (const frame of frames) {
      expect(utf8Bytes(frame)).toBeLessThanOrEqual(TARGET_BATCH_BYTES);
      const parsed = parseServerFrame(frame);
      if (parsed.type !== "events") throw new Error("expected an events frame");
      expect(parsed.trace_id).toBe("trace-1");
      seqs.push(...parsed.events.map((event) => event.seq));
    }
    expect(seqs).toEqual(events.map((event) => event.seq));
  });

  it("sends an event larger than the target alone, still under API Gateway's 128 KiB", () => {
    const big = traceEvent(1, { metadata: { blob: "x".repeat(MAX_EVENT_BYTES - 400) } });
    const frames = replayFrames("trace-1", [traceEvent(0), big, traceEvent(2)]);
    expect(frames).toHaveLength(3);
    for (const frame of frames) expect(utf8Bytes(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it("makes no frame for no events", () => {
    expect(replayFrames("trace-1", [])).toEqual([]);
  });
});

describe("client messages", () => {
  it("accepts ping and resume with a cursor of -1 or more", () => {
    expect(ClientMessage.parse({ action: "ping" })).toEqual({ action: "ping" });
    expect(ClientMessage.parse({ action: "resume", afterSeq: -1 })).toEqual({
      action: "resume",
      afterSeq: -1,
    });
  });

  it.each([
    { action: "resume" },
    { action: "resume", afterSeq: -2 },
    { action: "resume", afterSeq: "3" },
    { action: "resume", afterSeq: 1.5 },
    { action: "subscribe" },
  ])("rejects %j", (message) => {
    expect(ClientMessage.safeParse(message).success).toBe(false);
  });
});

describe("server frames", () => {
  it("parses each frame type and refuses unknown ones", () => {
    expect(parseServerFrame('{"type":"pong"}')).toEqual({ type: "pong" });
    expect(parseServerFrame('{"type":"synced","trace_id":"t","last_seq":-1}')).toMatchObject({
      last_seq: -1,
    });
    expect(parseServerFrame(JSON.stringify({ type: "event", ...traceEvent(4) }))).toMatchObject({ seq: 4 });
    expect(() => parseServerFrame('{"type":"party"}')).toThrow();
    expect(() => parseServerFrame("pong")).toThrow(SyntaxError);
  });

  it("parses a frame by its type exactly as the ServerFrame union does, and refuses what it refuses", () => {
    const unknownEvent = { ...traceEvent(5), event: "agent_thought", metadata: { text: "hmm" } };
    const frames = [
      JSON.stringify({ type: "event", ...traceEvent(4) }),
      JSON.stringify({ type: "event", ...unknownEvent }),
      JSON.stringify({ type: "event", ...traceEvent(6), extra: "dropped?" }),
      JSON.stringify({ type: "events", trace_id: "t", events: [traceEvent(1), unknownEvent] }),
      JSON.stringify({ type: "error", code: "rate_limited", message: "slow down", retry_after_ms: 5 }),
    ];
    // The hand-written parser validates a frame in place rather than copying it, so a field this
    // version does not know stays on the object (zod strips it); every field zod keeps is equal.
    for (const frame of frames) {
      expect(parseServerFrame(frame)).toMatchObject(ServerFrame.parse(JSON.parse(frame)) as object);
    }
    const edgeCases = [
      { type: "event", ...traceEvent(4), seq: -3 },
      { type: "event", ...traceEvent(4), event: "plan_completed" },
      { type: "events", trace_id: "t", events: [{ seq: 1 }] },
      { type: "synced", trace_id: "t" },
      // A time without seconds: zod refuses it, and so must the hand-written parser.
      { type: "event", ...traceEvent(4), timestamp: "2026-11-26T12:00Z" },
    ];
    const outcome = (parse: () => unknown) => {
      try {
        return { ok: true, value: parse() };
      } catch {
        return { ok: false };
      }
    };
    const outcomes = edgeCases.map((frame) => outcome(() => ServerFrame.parse(frame)));
    expect(outcomes.filter((result) => !result.ok).length).toBeGreaterThan(0);
    expect(edgeCases.map((frame) => outcome(() => parseServerFrame(JSON.stringify(frame))))).toEqual(
      outcomes,
    );
  });

  it("carries a refused event's place (trace, seq, event id, reason) in conflict frames, and never a body", () => {
    const refused = { seq: 3, event_id: crypto.randomUUID() };
    const live = parseServerFrame(conflictFrame("run-42", refused));
    expect(live).toEqual({
      type: "conflict",
      trace_id: "run-42",
      seq: 3,
      event_id: refused.event_id,
      reason: expect.stringContaining("another run most likely reused the trace id"),
    });
    const summary = parseServerFrame(conflictsFrame("run-42", { count: 250, more: true, refused: [] }));
    expect(summary).toEqual({ type: "conflicts", trace_id: "run-42", count: 250, more: true, refused: [] });
    const listed = Array.from({ length: 150 }, (_, seq) => ({
      seq,
      event_id: crypto.randomUUID(),
      metadata: {},
    }));
    const capped = JSON.parse(conflictsFrame("run-42", { count: 150, more: false, refused: listed }));
    expect(capped.refused).toHaveLength(100);
    expect(Object.keys(capped.refused[0])).toEqual(["seq", "event_id"]);
  });

  it.each([
    [
      "a conflict without its seq",
      { type: "conflict", trace_id: "t", event_id: crypto.randomUUID(), reason: "r" },
    ],
    [
      "a conflict with a bad event id",
      { type: "conflict", trace_id: "t", seq: 1, event_id: "x", reason: "r" },
    ],
    ["a summary of no conflicts", { type: "conflicts", trace_id: "t", count: 0, more: false, refused: [] }],
    [
      "a summary listing more than 100",
      {
        type: "conflicts",
        trace_id: "t",
        count: 101,
        more: false,
        refused: Array.from({ length: 101 }, (_, seq) => ({ seq, event_id: crypto.randomUUID() })),
      },
    ],
  ])("refuses %s", (_label, frame) => {
    expect(() => parseServerFrame(JSON.stringify(frame))).toThrow();
  });
});
