// @vitest-environment happy-dom
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { createElement, type ReactNode, StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type UseTraceStreamOptions, useTraceStream } from "../../client/react.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { traceEvent } from "../support/events.js";
import { type ScriptedConnection, ScriptedServer } from "./scripted-server.js";

const history = (traceId: string, count: number): TraceEvent[] =>
  Array.from({ length: count }, (_, seq) => traceEvent(seq, { trace_id: traceId }));
const seqs = (list: readonly { readonly seq: number }[]) => list.map((event) => event.seq);
const eventually = { timeout: 10_000 };

let server: ScriptedServer;

beforeEach(async () => {
  server = await ScriptedServer.start();
});

afterEach(async () => {
  cleanup();
  await server.stop();
});

/** Answers every connection's resume with the stored history of its trace. */
function serveHistories(
  histories: Record<string, TraceEvent[]>,
  then?: (connection: ScriptedConnection) => void,
) {
  server.serveEach(async (connection) => {
    const traceId = connection.url.searchParams.get("traceId") ?? "";
    const stored = histories[traceId] ?? [];
    const afterSeq = await connection.nextResume();
    connection.replay(
      traceId,
      stored.filter((event) => event.seq > afterSeq),
      stored.at(-1)?.seq ?? -1,
    );
    then?.(connection);
  });
}

function options(overrides: Partial<UseTraceStreamOptions> = {}): UseTraceStreamOptions {
  return {
    url: server.url,
    token: "token-1",
    WebSocket,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  };
}

const strict = ({ children }: { children: ReactNode }) => createElement(StrictMode, null, children);

describe("useTraceStream", () => {
  it("shows a burst of events, all of them, in fewer renders than events", async () => {
    const burst = history("trace-1", 500);
    serveHistories({ "trace-1": [] }, (connection) => connection.sendEvents(...burst));
    let renders = 0;
    const { result } = renderHook(() => {
      renders++;
      return useTraceStream("trace-1", options());
    });

    await waitFor(() => expect(result.current.lastSeq).toBe(499), eventually);
    expect(result.current.events).toEqual(burst);
    expect(result.current.status).toBe("live");
    expect(renders).toBeLessThan(burst.length / 5);
  });

  it("opens one live socket under StrictMode's double mount", async () => {
    serveHistories({ "trace-1": history("trace-1", 3) });
    const { result } = renderHook(() => useTraceStream("trace-1", options()), { wrapper: strict });

    await waitFor(() => expect(result.current.status).toBe("live"), eventually);
    expect(seqs(result.current.events)).toEqual([0, 1, 2]);
    expect(server.openCount).toBe(1);
    expect(server.handshakes).toBe(1);
  });

  it("closes the socket on unmount", async () => {
    serveHistories({ "trace-1": history("trace-1", 1) });
    const { result, unmount } = renderHook(() => useTraceStream("trace-1", options()));
    await waitFor(() => expect(result.current.status).toBe("live"), eventually);
    const [connection] = server.connections;

    unmount();
    expect((await connection?.closed)?.code).toBe(1000);
    expect(server.openCount).toBe(0);
  });

  it("starts clean when the traceId changes", async () => {
    serveHistories({ "trace-1": history("trace-1", 4), "trace-2": history("trace-2", 2) });
    const { result, rerender } = renderHook(({ traceId }) => useTraceStream(traceId, options()), {
      initialProps: { traceId: "trace-1" },
    });
    await waitFor(() => expect(result.current.lastSeq).toBe(3), eventually);
    const [first] = server.connections;

    rerender({ traceId: "trace-2" });
    expect(result.current.events).toEqual([]);
    expect(result.current.lastSeq).toBe(-1);
    await waitFor(() => expect(result.current.status).toBe("live"), eventually);
    expect(result.current.events.map((event) => event.trace_id)).toEqual(["trace-2", "trace-2"]);
    expect((await first?.closed)?.code).toBe(1000);
    expect(server.connections[1]?.url.searchParams.get("traceId")).toBe("trace-2");
    expect(server.openCount).toBe(1);
  });

  it("disconnect() sticks: no reconnect on re-render or when the page comes back online", async () => {
    serveHistories({ "trace-1": history("trace-1", 2) });
    const { result, rerender } = renderHook(() => useTraceStream("trace-1", options()));
    await waitFor(() => expect(result.current.status).toBe("live"), eventually);

    act(() => result.current.disconnect());
    await waitFor(() => expect(result.current.status).toBe("closed"), eventually);
    await server.connections[0]?.closed;
    window.dispatchEvent(new Event("online"));
    rerender();
    expect(result.current.status).toBe("closed");
    expect(result.current.events).toHaveLength(2);
    expect(server.handshakes).toBe(1);

    act(() => result.current.connect());
    await waitFor(() => expect(result.current.status).toBe("live"), eventually);
    expect(seqs(result.current.events)).toEqual([0, 1]);
    expect(server.handshakes).toBe(2);
  });

  it("stays idle without a traceId, and with autoConnect false until connect()", async () => {
    serveHistories({ "trace-1": history("trace-1", 1) });
    const idle = renderHook(() => useTraceStream(null, options()));
    expect(idle.result.current).toMatchObject({ status: "idle", events: [], lastSeq: -1 });

    const manual = renderHook(() => useTraceStream("trace-1", options({ autoConnect: false })));
    await act(async () => {});
    expect(manual.result.current.status).toBe("idle");
    expect(server.handshakes).toBe(0);
    act(() => manual.result.current.connect());
    await waitFor(() => expect(manual.result.current.status).toBe("live"), eventually);
  });

  it("uses the token from the latest render when it reconnects", async () => {
    serveHistories({ "trace-1": [] });
    const { result, rerender } = renderHook(({ token }) => useTraceStream("trace-1", options({ token })), {
      initialProps: { token: "token-1" },
    });
    await waitFor(() => expect(result.current.status).toBe("live"), eventually);
    rerender({ token: "token-2" });
    server.connections[0]?.close(1001);

    await waitFor(() => expect(server.connections).toHaveLength(2), eventually);
    expect(server.connections.map((connection) => connection.token)).toEqual(["token-1", "token-2"]);
  });
});
