// @vitest-environment happy-dom
/**
 * useRuns: the client package's React hook for the live runs list, against a scripted server that
 * answers `listRuns` as the stack does (the viewer's start page runs it against the real local
 * stack in Chromium: test/web). Under happy-dom the local stack cannot start its dynalite process.
 */
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { createElement, type ReactNode, StrictMode } from "react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type UseRunsOptions, useRuns } from "../../client/react.js";
import type { WebSocketConstructor } from "../../client/subscriber-socket.js";
import { type RunSummaryWire, runFrame, runsFrame } from "../../protocol/frames.js";
import { runSummary } from "../support/run-summaries.js";
import { type ScriptedConnection, ScriptedServer } from "./scripted-server.js";

const eventually = { timeout: 10_000 };
const strict = ({ children }: { children: ReactNode }) => createElement(StrictMode, null, children);

const run = (n: number, fields: Partial<RunSummaryWire> = {}): RunSummaryWire =>
  runSummary(`team-h/run-${n}`, {
    goal: n === 3 ? "Reconcile invoices" : `Task ${n}`,
    started_at: 1_000 + n,
    last_event_at: 2_000 + n,
    ...fields,
  });
/** Newest first, as the server lists them. */
const RUNS = [4, 3, 2, 1, 0].map((n) => run(n));

interface ListRuns {
  readonly action: string;
  readonly limit: number;
  readonly after?: string;
  readonly search?: string;
}

let server: ScriptedServer;
let requests: ListRuns[];
beforeEach(async () => {
  server = await ScriptedServer.start();
  requests = [];
});
afterEach(async () => {
  cleanup();
  await server.stop();
});

/** Answers every `listRuns` with a page of RUNS (filtered by goal words), cursor = next index. */
function serveRuns(then?: (connection: ScriptedConnection) => void) {
  server.serveEach(async (connection) => {
    then?.(connection);
    while (connection.isOpen) {
      const request = (await connection.nextMessage().catch(() => null)) as ListRuns | null;
      if (request === null) return;
      if (request.action !== "listRuns") continue;
      requests.push(request);
      const matching = RUNS.filter(
        (listed) => !request.search || listed.goal?.toLowerCase().includes(request.search.toLowerCase()),
      );
      const from = Number(request.after ?? 0);
      const page = matching.slice(from, from + request.limit);
      const next = from + request.limit < matching.length ? String(from + request.limit) : undefined;
      connection.send(runsFrame(page, next));
    }
  });
}

function options(overrides: Partial<UseRunsOptions> = {}): UseRunsOptions {
  return {
    url: server.url,
    token: "token-1",
    pageSize: 2,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  };
}

const ids = (runs: readonly { readonly trace_id: string }[]) => runs.map((listed) => listed.trace_id);

describe("useRuns", () => {
  it("lists the newest page, more on request, and a run's progress live", async () => {
    let live: ScriptedConnection | undefined;
    serveRuns((connection) => {
      live = connection;
    });
    const { result } = renderHook(() => useRuns(options()));
    await waitFor(
      () => expect(ids(result.current.runs)).toEqual(["team-h/run-4", "team-h/run-3"]),
      eventually,
    );
    expect(result.current.connection).toBe("open");
    expect(result.current.hasMore).toBe(true);
    expect(server.openCount).toBe(1);

    act(() => result.current.loadMore());
    await waitFor(() => expect(result.current.runs).toHaveLength(4), eventually);
    expect(requests.at(-1)?.after).toBe("2");

    live?.send(runFrame(run(4, { tool_calls: 1, last_event_at: 9_000 })));
    await waitFor(() => expect(result.current.runs[0]?.tool_calls).toBe(1), eventually);
  });

  it("lists again from the newest run when the filter prop changes, and closes on unmount", async () => {
    serveRuns();
    const { result, rerender, unmount } = renderHook((props: UseRunsOptions) => useRuns(props), {
      initialProps: options(),
    });
    await waitFor(() => expect(result.current.runs).toHaveLength(2), eventually);
    rerender(options({ filter: { search: "reconcile" } }));
    await waitFor(() => expect(ids(result.current.runs)).toEqual(["team-h/run-3"]), eventually);
    expect(result.current.hasMore).toBe(false);
    expect(result.current.filter.search).toBe("reconcile");
    expect(requests.at(-1)?.search).toBe("reconcile");

    unmount();
    await waitFor(() => expect(server.openCount).toBe(0), eventually);
  });

  it("opens one connection under StrictMode's double mount", async () => {
    serveRuns();
    const { result } = renderHook(() => useRuns(options()), { wrapper: strict });
    await waitFor(() => expect(result.current.runs).toHaveLength(2), eventually);
    expect(server.openCount).toBe(1);
    expect(server.handshakes).toBe(1);
  });

  it("reads a refreshed token from props on the next connect", async () => {
    const tokens: (string | null)[] = [];
    serveRuns((connection) => tokens.push(connection.token));
    const { result, rerender } = renderHook((props: UseRunsOptions) => useRuns(props), {
      initialProps: options({ token: "first" }),
    });
    await waitFor(() => expect(result.current.runs).toHaveLength(2), eventually);
    rerender(options({ token: "second" }));
    act(() => result.current.close());
    await waitFor(() => expect(result.current.connection).toBe("closed"), eventually);
    act(() => result.current.start());
    await waitFor(() => expect(tokens).toEqual(["first", "second"]), eventually);
  });

  it("needs a token or getToken, and says so", () => {
    expect(() => renderHook(() => useRuns({ url: server.url, WebSocket: WebSocket as never }))).toThrow(
      "useRuns needs `token` or `getToken`",
    );
  });
});
