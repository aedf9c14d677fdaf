import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  type TraceConflicts,
  TraceStreamClient,
  type TraceStreamClientOptions,
} from "../../client/trace-stream-client.js";
import {
  conflictFrame,
  conflictsFrame,
  errorFrame,
  eventFrame,
  pongFrame,
  replayFrames,
  syncedFrame,
} from "../../protocol/frames.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { traceEvent } from "../support/events.js";
import { BrowserLikeWebSocket, ManualPageSignals, ManualTimers } from "./fakes.js";
import { recordStates, ScriptedServer, until, untilStatus } from "./scripted-server.js";

const TRACE = "trace-1";
const events = (from: number, to: number): TraceEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => traceEvent(from + i));
const seqs = (list: readonly { readonly seq: number }[]) => list.map((event) => event.seq);

let server: ScriptedServer;
let clients: TraceStreamClient[];

beforeEach(async () => {
  server = await ScriptedServer.start();
  clients = [];
});

afterEach(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

function makeClient(overrides: Partial<TraceStreamClientOptions> = {}): TraceStreamClient {
  const client = new TraceStreamClient({
    url: server.url,
    traceId: TRACE,
    token: "token-1",
    WebSocket,
    pageSignals: null,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
  clients.push(client);
  return client;
}

describe("TraceStreamClient: joining and resuming", () => {
  it("does nothing until connect()", () => {
    const client = makeClient();
    expect(client.getSnapshot()).toMatchObject({ status: "idle", events: [], lastSeq: -1 });
    expect(server.handshakes).toBe(0);
  });

  it("sends the trace id and token in the query, resumes from -1, backfills and goes live on synced", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const connection = await server.nextConnection();
    expect(connection.url.pathname).toBe("/local");
    expect(connection.url.searchParams.get("traceId")).toBe(TRACE);
    expect(connection.token).toBe("token-1");
    expect(await connection.nextResume()).toBe(-1);
    const history = events(0, 4);
    connection.replay(TRACE, history);

    const snapshot = await untilStatus(client, "live");
    expect(snapshot.events).toEqual(history);
    expect(snapshot.lastSeq).toBe(4);
    expect(states).toEqual(["connecting", "backfilling", "live"]);

    connection.sendEvents(traceEvent(5));
    expect(seqs((await until(client, (s) => s.lastSeq === 5)).events)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("resumes from its cursor after the server closes with 1001 (API Gateway's 2-hour cap or idle timeout)", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 4));
    await untilStatus(client, "live");
    first.close(1001, "Going away");

    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(4);
    // The server may send again what the client already has: it is shown once.
    second.replay(TRACE, events(3, 7));
    const snapshot = await until(client, (s) => s.lastSeq === 7 && s.status === "live");
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(snapshot.duplicateCount).toBe(2);
    expect(states).toContain("reconnecting:going_away");
  });

  it("reconnects after the connection drops without a close frame (1006)", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 1));
    await untilStatus(client, "live");
    first.terminate();

    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(1);
    expect(states).toContain("reconnecting:connection_lost");
  });

  it("reconnects when the server closes with another code, e.g. after a management DELETE", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 0));
    await untilStatus(client, "live");
    first.close(1000);

    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(0);
    expect(states).toContain("reconnecting:server_closed");
  });

  it("calls getToken before every connect and uses the refreshed token", async () => {
    let calls = 0;
    const client = makeClient({ token: undefined, getToken: async () => `token-${++calls}` });
    client.connect();
    const first = await server.nextConnection();
    expect(first.token).toBe("token-1");
    await first.nextResume();
    first.replay(TRACE, []);
    await untilStatus(client, "live");
    first.close(1001);

    const second = await server.nextConnection();
    expect(second.token).toBe("token-2");
  });

  it("retries with backoff when getToken fails, and reports the failure", async () => {
    let calls = 0;
    const client = makeClient({
      token: undefined,
      getToken: () => {
        calls++;
        if (calls === 1) throw new Error("token service down");
        return "token-ok";
      },
    });
    const states = recordStates(client);
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    client.connect();
    const connection = await server.nextConnection();
    expect(connection.token).toBe("token-ok");
    expect(states.slice(0, 2)).toEqual(["connecting", "reconnecting:token_unavailable"]);
    expect(errors).toEqual(["token_unavailable"]);
  });
});

describe("TraceStreamClient: order, duplicates, gaps", () => {
  async function live(client: TraceStreamClient, history: TraceEvent[] = []) {
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, history);
    await untilStatus(client, "live");
    return connection;
  }

  it("shows events in seq order and each once, whatever order and how often they arrive", async () => {
    const client = makeClient();
    const connection = await live(client);
    const [e0, e1, e2, e3, e4] = events(0, 4) as [TraceEvent, TraceEvent, TraceEvent, TraceEvent, TraceEvent];
    connection.sendEvents(e2, e0, e2, e1, e0, e3, e3, e4);

    const snapshot = await until(client, (s) => s.lastSeq === 4);
    expect(snapshot.events).toEqual([e0, e1, e2, e3, e4]);
    expect(snapshot.duplicateCount).toBe(3);
  });

  it("resumes again when a gap stays open past gapTimeoutMs, and fills it", async () => {
    const client = makeClient({ gapTimeoutMs: 10 });
    const connection = await live(client, events(0, 0));
    connection.sendEvents(traceEvent(2), traceEvent(3));
    expect(await connection.nextResume()).toBe(0);
    connection.replay(TRACE, events(1, 3));

    const snapshot = await until(client, (s) => s.lastSeq === 3);
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3]);
    expect(snapshot.missing).toEqual([]);
  });

  it("reports seqs still missing after synced and passes them", async () => {
    const client = makeClient({ gapTimeoutMs: 10 });
    const missing: unknown[] = [];
    client.on("missing", (range) => missing.push(range));
    const connection = await live(client, events(0, 0));
    connection.sendEvents(traceEvent(3), traceEvent(6));
    expect(await connection.nextResume()).toBe(0);
    // The server no longer has 1, 2, 4 and 5 (expired or dead-lettered).
    connection.replay(TRACE, [traceEvent(3), traceEvent(6)], 6);

    const snapshot = await until(client, (s) => s.lastSeq === 6);
    expect(seqs(snapshot.events)).toEqual([0, 3, 6]);
    expect(snapshot.missing).toEqual([
      { from: 1, to: 2 },
      { from: 4, to: 5 },
    ]);
    expect(missing).toEqual(snapshot.missing);

    connection.sendEvents(traceEvent(7));
    expect(seqs((await until(client, (s) => s.lastSeq === 7)).events)).toEqual([0, 3, 6, 7]);
  });

  it("still shows a seq reported missing that turns up later, in its place, once", async () => {
    const client = makeClient({ gapTimeoutMs: 60_000 });
    const delivered: number[] = [];
    client.on("event", (event) => delivered.push(event.seq));
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    // Seq 2 is stored late (an EventBridge retry): the replay has 0, 1, 3 and 4.
    connection.replay(TRACE, [traceEvent(0), traceEvent(1), traceEvent(3), traceEvent(4)], 4);
    expect((await untilStatus(client, "live")).missing).toEqual([{ from: 2, to: 2 }]);

    const late = traceEvent(2);
    connection.sendEvents(late, late, traceEvent(5));
    const snapshot = await until(client, (s) => s.lastSeq === 5);
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(snapshot.events[2]).toEqual(late);
    expect(snapshot.missing).toEqual([]);
    expect(snapshot.duplicateCount).toBe(1);
    expect(delivered).toEqual([0, 1, 3, 4, 2, 5]);
  });

  it("resumes from before a recently missing seq after a reconnect, to recover it", async () => {
    const timers = new ManualTimers();
    const client = makeClient({ timers, random: () => 0, lateEventWindowMs: 5_000 });
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, [traceEvent(0), traceEvent(1), traceEvent(3)], 3);
    expect((await untilStatus(client, "live")).missing).toEqual([{ from: 2, to: 2 }]);
    first.close(1001);
    await untilStatus(client, "reconnecting");
    timers.fire(0);

    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(1);
    second.replay(TRACE, events(2, 4));
    const snapshot = await until(client, (s) => s.lastSeq === 4);
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3, 4]);
    expect(snapshot.missing).toEqual([]);
    expect(snapshot.duplicateCount).toBe(1);

    // Once lateEventWindowMs has passed, a missing seq is no longer asked for.
    second.sendEvents(traceEvent(6));
    second.replay(TRACE, [traceEvent(6)], 6);
    await until(client, (s) => s.missing.length === 1);
    timers.time += 5_000;
    second.close(1001);
    await untilStatus(client, "reconnecting");
    timers.fire(0);
    const third = await server.nextConnection();
    expect(await third.nextResume()).toBe(6);
  });

  it("after a terminal event, keeps the socket for a missing seq and closes once it arrives", async () => {
    const client = makeClient();
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    const done = traceEvent(2, { event: "plan_failed", metadata: { error: "boom", error_type: "Crash" } });
    connection.replay(TRACE, [traceEvent(0), done], 2);

    const ended = await untilStatus(client, "ended");
    expect(ended.missing).toEqual([{ from: 1, to: 1 }]);
    expect(connection.isOpen).toBe(true);
    connection.sendEvents(traceEvent(1));
    expect((await connection.closed).code).toBe(1000);
    expect(seqs(client.getSnapshot().events)).toEqual([0, 1, 2]);
    expect(client.getSnapshot().missing).toEqual([]);
    expect(client.state.status).toBe("ended");
  });

  it("after a terminal event, stops waiting for a missing seq when lateEventWindowMs is up", async () => {
    const timers = new ManualTimers();
    const client = makeClient({ timers, lateEventWindowMs: 7_000 });
    const states = recordStates(client);
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, [traceEvent(0), traceEvent(2, { event: "plan_completed", metadata: {} })], 2);
    await untilStatus(client, "ended");
    expect(connection.isOpen).toBe(true);

    expect(timers.fire(7_000)).toBe(1);
    expect((await connection.closed).code).toBe(1000);
    expect(client.getSnapshot().missing).toEqual([{ from: 1, to: 1 }]);
    expect(states).toEqual(["connecting", "backfilling", "ended:terminal_event"]);
  });

  it("passes a whole history the server no longer holds, in one range", async () => {
    const client = makeClient();
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.send(syncedFrame(TRACE, 99_999));
    const snapshot = await untilStatus(client, "live");
    expect(snapshot.missing).toEqual([{ from: 0, to: 99_999 }]);
    expect(snapshot.lastSeq).toBe(99_999);
  });

  it("keeps live events above synced last_seq buffered until the seqs below them arrive", async () => {
    const client = makeClient({ gapTimeoutMs: 60_000 });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    // A live event overtakes the replay: history ends at 1, seq 3 arrives before 2.
    connection.sendEvents(traceEvent(3));
    connection.replay(TRACE, events(0, 1));
    await untilStatus(client, "live");
    expect(client.getSnapshot().lastSeq).toBe(1);
    connection.sendEvents(traceEvent(2));
    const snapshot = await until(client, (s) => s.lastSeq === 3);
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3]);
    expect(snapshot.missing).toEqual([]);
  });

  it("advances the cursor before listeners run", async () => {
    const client = makeClient();
    const seen: [number, number, number][] = [];
    client.on("event", (event) => {
      seen.push([event.seq, client.lastSeq, client.getSnapshot().lastSeq]);
    });
    await live(client, events(0, 2));
    expect(seen).toEqual([
      [0, 0, 0],
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  it("keeps streaming when a listener throws, and reports it", async () => {
    const client = makeClient();
    client.on("event", (event) => {
      if (event.seq === 1) throw new Error("listener bug");
    });
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    const connection = await live(client, events(0, 2));
    connection.sendEvents(traceEvent(3));
    expect(seqs((await until(client, (s) => s.lastSeq === 3)).events)).toEqual([0, 1, 2, 3]);
    expect(errors).toEqual(["listener_failed"]);
  });
});

describe("TraceStreamClient: bad frames", () => {
  it("reports frames that are not valid server frames and keeps going", async () => {
    const client = makeClient();
    const errors: string[] = [];
    client.on("error", (error) => errors.push(`${error.code}: ${error.message.slice(0, 40)}`));
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.send("not json");
    connection.send(JSON.stringify({ type: "surprise" }));
    connection.send(JSON.stringify({ type: "event", seq: 0 }));
    connection.send(Buffer.from([1, 2, 3]));
    connection.replay(TRACE, events(0, 0));

    const snapshot = await untilStatus(client, "live");
    expect(seqs(snapshot.events)).toEqual([0]);
    expect(errors.map((error) => error.split(":")[0])).toEqual([
      "bad_frame",
      "bad_frame",
      "bad_frame",
      "bad_frame",
    ]);
  });

  it("ignores frames and events for another trace", async () => {
    const client = makeClient();
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.send(eventFrame(traceEvent(0, { trace_id: "other" })));
    for (const frame of replayFrames("other", [traceEvent(0, { trace_id: "other" })])) connection.send(frame);
    connection.send(syncedFrame("other", 5));
    connection.replay(TRACE, events(0, 0));

    const snapshot = await untilStatus(client, "live");
    expect(snapshot.events.map((event) => event.trace_id)).toEqual([TRACE]);
    expect(snapshot.lastSeq).toBe(0);
    expect(errors).toEqual(["wrong_trace", "wrong_trace", "wrong_trace"]);
  });

  it("reports error frames; not_subscribed makes it reconnect", async () => {
    const client = makeClient();
    const states = recordStates(client);
    const errors: (string | undefined)[] = [];
    client.on("error", (error) => errors.push(error.serverCode));
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 0));
    await untilStatus(client, "live");
    first.send(errorFrame("invalid_message", "afterSeq must be an integer"));
    first.send(errorFrame("not_subscribed", "subscription expired"));

    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(0);
    expect(errors).toEqual(["invalid_message", "not_subscribed"]);
    expect(states).toContain("reconnecting:server_error");
  });
});

describe("TraceStreamClient: conflicts (another run reused the trace id)", () => {
  const refusedAt = (seq: number) => ({ seq, event_id: crypto.randomUUID() });

  it("surfaces live conflict frames in the snapshot and as conflicts events, while events keep flowing", async () => {
    const client = makeClient();
    const heard: TraceConflicts[] = [];
    client.on("conflicts", (conflicts) => heard.push(conflicts));
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, events(0, 2));
    await untilStatus(client, "live");
    expect(client.getSnapshot().conflicts).toBeNull();

    const [first, second] = [refusedAt(1), refusedAt(0)];
    connection.send(conflictFrame(TRACE, first));
    connection.send(conflictFrame(TRACE, first)); // a redelivered notice counts once
    connection.send(conflictFrame(TRACE, second));
    connection.sendEvents(traceEvent(3));
    const snapshot = await until(client, (s) => s.lastSeq === 3);
    expect(snapshot.conflicts).toEqual({ count: 2, more: false, seqs: [0, 1] });
    expect(heard.map((conflicts) => conflicts.count)).toEqual([1, 2]);
    expect(snapshot.status).toBe("live");
  });

  it("reads a summary sent before the history of an ended trace: the viewer of a reused id learns it at once", async () => {
    const client = makeClient();
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.send(conflictsFrame(TRACE, { count: 18, more: false, refused: [refusedAt(0), refusedAt(1)] }));
    const done = traceEvent(2, { event: "plan_completed", metadata: {} });
    connection.replay(TRACE, [...events(0, 1), done]);
    const snapshot = await untilStatus(client, "ended");
    expect(snapshot.conflicts).toEqual({ count: 18, more: false, seqs: [0, 1] });
  });

  it("ignores conflict frames for another trace", async () => {
    const client = makeClient();
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.send(conflictFrame("other-trace", refusedAt(0)));
    connection.replay(TRACE, events(0, 0));
    const snapshot = await untilStatus(client, "live");
    expect(snapshot.conflicts).toBeNull();
    expect(errors).toEqual(["wrong_trace"]);
  });

  it("comes to the same conflicts whatever order live notices and summaries arrive in", async () => {
    const refused = Array.from({ length: 5 }, (_, seq) => refusedAt(seq));
    const frames = [
      ...refused.map((event) => conflictFrame(TRACE, event)),
      conflictsFrame(TRACE, { count: 3, more: false, refused: refused.slice(0, 3) }),
      conflictsFrame(TRACE, { count: 4, more: false, refused: refused.slice(1, 4) }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(frames, { minLength: frames.length }), async (order) => {
        const client = makeClient();
        client.connect();
        const connection = await server.nextConnection();
        await connection.nextResume();
        for (const frame of order) connection.send(frame);
        connection.replay(TRACE, events(0, 0));
        const snapshot = await untilStatus(client, "live");
        client.disconnect();
        expect(snapshot.conflicts).toEqual({ count: 5, more: false, seqs: [0, 1, 2, 3, 4] });
      }),
      { numRuns: 12 },
    );
  });
});

describe("TraceStreamClient: paged replays and a server that asks it to slow down", () => {
  it("follows a replay page by page (synced with more) and goes live after the last", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const connection = await server.nextConnection();
    expect(await connection.nextResume()).toBe(-1);
    for (const frame of replayFrames(TRACE, events(0, 4))) connection.send(frame);
    connection.send(syncedFrame(TRACE, 4, true));
    expect(await connection.nextResume()).toBe(4);
    expect(client.state.status).toBe("backfilling");
    connection.replay(TRACE, events(5, 9));
    const snapshot = await untilStatus(client, "live");
    expect(seqs(snapshot.events)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(snapshot.missing).toEqual([]);
    expect(states).toEqual(["connecting", "backfilling", "live"]);
  });

  it("waits the retry_after_ms of a rate_limited answer, then resumes, without reconnecting", async () => {
    const timers = new ManualTimers();
    const client = makeClient({ timers, random: () => 0 });
    const errors: string[] = [];
    client.on("error", (error) => errors.push(error.code));
    client.connect();
    const connection = await server.nextConnection();
    expect(await connection.nextResume()).toBe(-1);
    connection.send(errorFrame("rate_limited", "slow down", 4200));
    await timers.until(() => timers.pending(4200) === 1);
    expect(timers.fire(4200)).toBe(1);
    expect(await connection.nextResume()).toBe(-1);
    connection.replay(TRACE, events(0, 1));
    await untilStatus(client, "live");
    expect(errors).toEqual([]);
    expect(server.handshakes).toBe(1);
  });

  it.each([
    ["a throttle (Too Many Requests)", "Too Many Requests", []],
    ["a failed integration", "Internal server error", ["server_error"]],
  ])(
    "answers API Gateway's own message for %s by resuming later, not by reconnecting",
    async (_label, message, expected) => {
      const timers = new ManualTimers();
      const client = makeClient({ timers, random: () => 0 });
      const errors: string[] = [];
      client.on("error", (error) => errors.push(error.code));
      client.connect();
      const connection = await server.nextConnection();
      expect(await connection.nextResume()).toBe(-1);
      connection.send(`{"message": "${message}", "connectionId":"abc=", "requestId":"req="}`);
      await timers.until(() => timers.pending(500) === 1);
      timers.fire(500);
      expect(await connection.nextResume()).toBe(-1);
      connection.replay(TRACE, events(0, 0));
      await untilStatus(client, "live");
      expect(errors).toEqual(expected);
      expect(server.handshakes).toBe(1);
    },
  );
});

describe("TraceStreamClient: ending, failing, closing", () => {
  it("ends on a terminal event, closes the socket and does not reconnect", async () => {
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    const done = traceEvent(2, {
      event: "plan_completed",
      metadata: { duration_ms: 10, steps_completed: 2 },
    });
    connection.replay(TRACE, [...events(0, 1), done]);

    const snapshot = await untilStatus(client, "ended");
    expect(snapshot.state).toMatchObject({ code: "terminal_event", event: done });
    expect(snapshot.events.at(-1)).toEqual(done);
    expect((await connection.closed).code).toBe(1000);
    expect(states).toEqual(["connecting", "backfilling", "ended:terminal_event"]);
    client.connect();
    client.reconnect();
    expect(client.state.status).toBe("ended");
    expect(server.handshakes).toBe(1);
  });

  it("fails on 401 without retrying, with the status", async () => {
    server.refuseNext(401);
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const snapshot = await untilStatus(client, "failed");
    expect(snapshot.state).toMatchObject({ code: "unauthorized", httpStatus: 401 });
    expect(snapshot.error).toMatchObject({ code: "unauthorized", httpStatus: 401 });
    expect(states).toEqual(["connecting", "failed:unauthorized"]);
    expect(server.handshakes).toBe(1);
  });

  it("fails on 403 without retrying", async () => {
    server.refuseNext(403);
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    expect((await untilStatus(client, "failed")).state).toMatchObject({ code: "forbidden", httpStatus: 403 });
    expect(states).toEqual(["connecting", "failed:forbidden"]);
  });

  it("retries a handshake answered with 500 or 429", async () => {
    server.refuseNext(500, 429);
    const client = makeClient();
    const states = recordStates(client);
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, []);
    await untilStatus(client, "live");
    expect(states.filter((state) => state.startsWith("reconnecting"))).toEqual([
      "reconnecting:handshake_failed",
      "reconnecting:handshake_failed",
    ]);
    expect(server.handshakes).toBe(3);
  });

  it("in a browser (status hidden) gives up after maxHandshakeFailures refused handshakes in a row", async () => {
    server.refuseNext(401, 401, 401);
    const client = makeClient({
      WebSocket: BrowserLikeWebSocket,
      reconnect: { initialDelayMs: 1, maxHandshakeFailures: 3 },
    });
    const states = recordStates(client);
    client.connect();
    const snapshot = await untilStatus(client, "failed");
    expect(snapshot.state).toMatchObject({ code: "handshake_refused" });
    expect(states.filter((state) => state.startsWith("connecting"))).toHaveLength(3);
    expect(server.handshakes).toBe(3);
  });

  it("in a browser, does not count failed handshakes while offline", async () => {
    server.refuseNext(401, 401, 401);
    const signals = new ManualPageSignals();
    signals.online = false;
    const client = makeClient({
      WebSocket: BrowserLikeWebSocket,
      pageSignals: signals,
      reconnect: { initialDelayMs: 1, maxHandshakeFailures: 2 },
    });
    client.connect();
    const connection = await server.nextConnection();
    expect(server.handshakes).toBe(4);
    await connection.nextResume();
    connection.replay(TRACE, []);
    await untilStatus(client, "live");
  });

  it("fails with attempts_exhausted after maxAttempts reconnects in a row", async () => {
    server.refuseNext(500, 500, 500);
    const client = makeClient({ reconnect: { initialDelayMs: 1, maxAttempts: 2 } });
    client.connect();
    const snapshot = await untilStatus(client, "failed");
    expect(snapshot.state).toMatchObject({ code: "attempts_exhausted" });
    expect(server.handshakes).toBe(3);
  });

  it("reconnect() works from failed and resumes from the cursor", async () => {
    const client = makeClient();
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 2));
    await untilStatus(client, "live");
    server.refuseNext(401);
    first.close(1001);
    await untilStatus(client, "failed");

    client.reconnect();
    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(2);
    second.replay(TRACE, events(0, 3));
    const snapshot = await until(client, (s) => s.status === "live" && s.lastSeq === 3);
    expect(seqs(snapshot.events)).toEqual([0, 1, 2, 3]);
    expect(snapshot.error).toBeNull();
  });

  it("fails a malformed trace id with bad_request before opening a socket", async () => {
    const client = makeClient({ traceId: "no spaces allowed" });
    client.connect();
    expect(client.state).toMatchObject({ status: "failed", code: "bad_request" });
    expect(server.handshakes).toBe(0);
  });

  it("disconnect() sticks: no reconnect afterwards, not even on an online signal", async () => {
    const signals = new ManualPageSignals();
    const client = makeClient({ pageSignals: signals });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, events(0, 1));
    await untilStatus(client, "live");
    expect(signals.listenerCount).toBe(1);

    client.disconnect();
    expect(client.state).toMatchObject({ status: "closed", code: "client_closed" });
    expect((await connection.closed).code).toBe(1000);
    signals.wake();
    expect(signals.listenerCount).toBe(0);
    expect(client.state.status).toBe("closed");
    expect(server.handshakes).toBe(1);

    // connect() again resumes where it stopped.
    client.connect();
    const again = await server.nextConnection();
    expect(await again.nextResume()).toBe(1);
  });

  it("disconnect() while reconnecting cancels the pending attempt", async () => {
    const client = makeClient({ reconnect: { initialDelayMs: 60_000 }, random: () => 0.99 });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.close(1001);
    await untilStatus(client, "reconnecting");
    client.disconnect();
    expect(client.state.status).toBe("closed");
    expect(server.handshakes).toBe(1);
  });
});

describe("TraceStreamClient: heartbeat and page signals", () => {
  const HEARTBEAT = 1_000;
  const PONG_TIMEOUT = 2_000;

  it("pings on the heartbeat interval and reconnects when the pong is overdue", async () => {
    const timers = new ManualTimers();
    const client = makeClient({
      heartbeatIntervalMs: HEARTBEAT,
      pongTimeoutMs: PONG_TIMEOUT,
      timers,
      random: () => 0,
    });
    const states = recordStates(client);
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 0));
    await untilStatus(client, "live");
    // A live event since the last heartbeat: the heartbeat is a plain ping.
    first.send(eventFrame(traceEvent(1, { trace_id: TRACE })));
    await until(client, (s) => s.lastSeq === 1);

    expect(timers.fire(HEARTBEAT)).toBe(1);
    expect(await first.nextMessage()).toEqual({ action: "ping" });
    // No pong: the server looks dead.
    expect(timers.fire(PONG_TIMEOUT)).toBe(1);
    expect(client.state).toMatchObject({ status: "reconnecting", code: "pong_timeout", delayMs: 0 });
    timers.fire(0);
    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(1);
    expect(states).toContain("reconnecting:pong_timeout");
  });

  it("on a quiet live stream, the heartbeat is a resume from the cursor whose synced clears the deadline", async () => {
    const timers = new ManualTimers();
    const client = makeClient({ heartbeatIntervalMs: HEARTBEAT, pongTimeoutMs: PONG_TIMEOUT, timers });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, events(0, 2));
    await untilStatus(client, "live");

    timers.fire(HEARTBEAT);
    // The live copy of seq 3 (the trace's last so far) was lost: only a resume can bring it in.
    expect(await connection.nextMessage()).toEqual({ action: "resume", afterSeq: 2 });
    expect(timers.pending(PONG_TIMEOUT)).toBe(1);
    connection.replay(TRACE, events(3, 3));
    await until(client, (s) => s.lastSeq === 3);
    await timers.until(() => timers.pending(PONG_TIMEOUT) === 0);
    expect(client.state.status).toBe("live");
  });

  it("a pong (JSON or raw text) clears the deadline", async () => {
    const timers = new ManualTimers();
    const client = makeClient({ heartbeatIntervalMs: HEARTBEAT, pongTimeoutMs: PONG_TIMEOUT, timers });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, []);
    await untilStatus(client, "live");

    let seq = 0;
    for (const pong of [pongFrame(), "pong"]) {
      connection.send(eventFrame(traceEvent(seq, { trace_id: TRACE })));
      await until(client, (s) => s.lastSeq === seq);
      seq++;
      timers.fire(HEARTBEAT);
      expect(await connection.nextMessage()).toEqual({ action: "ping" });
      expect(timers.pending(PONG_TIMEOUT)).toBe(1);
      connection.send(pong);
      await timers.until(() => timers.pending(PONG_TIMEOUT) === 0);
    }
    expect(client.state.status).toBe("live");
    expect(timers.pending(HEARTBEAT)).toBe(1);
  });

  it("reconnects at once on a wake signal instead of waiting for the backoff", async () => {
    const signals = new ManualPageSignals();
    const client = makeClient({
      pageSignals: signals,
      reconnect: { initialDelayMs: 600_000, maxDelayMs: 600_000 },
      random: () => 0.99,
    });
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, events(0, 0));
    await untilStatus(client, "live");
    first.close(1001);
    const waiting = await untilStatus(client, "reconnecting");
    expect(waiting.state).toMatchObject({ delayMs: 594_000 });

    signals.wake();
    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(0);
  });

  it("checks a live socket with a ping on a wake signal", async () => {
    const signals = new ManualPageSignals();
    const client = makeClient({ pageSignals: signals, pongTimeoutMs: 10 });
    client.connect();
    const first = await server.nextConnection();
    await first.nextResume();
    first.replay(TRACE, []);
    await untilStatus(client, "live");

    signals.wake();
    expect(await first.nextMessage()).toEqual({ action: "ping" });
    // Unanswered (a socket that died in sleep): replaced.
    const second = await server.nextConnection();
    expect(await second.nextResume()).toBe(-1);
  });
});

describe("TraceStreamClient: memory", () => {
  it("keeps at most maxEvents events over 100k events, never losing the cursor", async () => {
    const client = makeClient({ maxEvents: 1_000 });
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    const template = traceEvent(0);
    const all = Array.from({ length: 100_000 }, (_, seq) => ({ ...template, seq }));
    connection.replay(TRACE, all);

    const snapshot = await untilStatus(client, "live");
    expect(snapshot.lastSeq).toBe(99_999);
    expect(snapshot.events).toHaveLength(1_000);
    expect(snapshot.events[0]?.seq).toBe(99_000);
    expect(snapshot.droppedCount).toBe(99_000);
    expect(snapshot.missing).toEqual([]);

    connection.close(1001);
    const next = await server.nextConnection();
    expect(await next.nextResume()).toBe(99_999);
  });
});

describe("TraceStreamClient: snapshots and options", () => {
  it("returns the same snapshot object until something changes", async () => {
    const client = makeClient();
    const idle = client.getSnapshot();
    expect(client.getSnapshot()).toBe(idle);
    client.connect();
    const connecting = client.getSnapshot();
    expect(connecting).not.toBe(idle);
    expect(Object.isFrozen(connecting)).toBe(true);
    const connection = await server.nextConnection();
    await connection.nextResume();
    connection.replay(TRACE, events(0, 1));
    const live = await untilStatus(client, "live");
    expect(client.getSnapshot()).toBe(live);
    expect(live.events).toBe(client.getSnapshot().events);
  });

  it("notifies store subscribers once per frame, not once per event", async () => {
    const client = makeClient();
    let notifications = 0;
    client.subscribe(() => notifications++);
    client.connect();
    const connection = await server.nextConnection();
    await connection.nextResume();
    const before = notifications;
    connection.replay(TRACE, events(0, 49));
    await untilStatus(client, "live");
    // One `events` frame and one `synced` frame.
    expect(notifications - before).toBe(2);
  });

  it("rejects bad options with a clear error", () => {
    const base = { url: server.url, traceId: TRACE, token: "t", WebSocket };
    expect(() => new TraceStreamClient({ ...base, url: "https://example.com" })).toThrow(/wss:\/\//);
    expect(() => new TraceStreamClient({ ...base, url: "nope" })).toThrow(/not a URL/);
    expect(() => new TraceStreamClient({ ...base, token: undefined })).toThrow(/token/);
    expect(() => new TraceStreamClient({ ...base, maxEvents: 0 })).toThrow(/maxEvents/);
    expect(() => new TraceStreamClient({ ...base, gapTimeoutMs: -1 })).toThrow(/gapTimeoutMs/);
    expect(() => new TraceStreamClient({ ...base, WebSocket: undefined })).toThrow(/WebSocket/);
  });
});
