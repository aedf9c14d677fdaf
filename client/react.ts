import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { ReceivedTraceEvent } from "../protocol/event-names.js";
import { RunsClient, type RunsClientOptions, type RunsFilter, type RunsSnapshot } from "./runs-client.js";
import type { SeqRange } from "./subscriber-reorder-buffer.js";
import { browserGlobals } from "./subscriber-socket.js";
import type { TraceStreamError, TraceStreamState, TraceStreamStatus } from "./subscriber-state.js";
import {
  type TraceConflicts,
  TraceStreamClient,
  type TraceStreamClientOptions,
  type TraceStreamSnapshot,
} from "./trace-stream-client.js";

export interface UseTraceStreamOptions extends Omit<TraceStreamClientOptions, "traceId"> {
  /** Connect on mount and whenever `traceId` changes. @default true */
  readonly autoConnect?: boolean | undefined;
}

export interface UseTraceStreamResult {
  /** Retained events in seq order, each once. */
  readonly events: readonly ReceivedTraceEvent[];
  readonly status: TraceStreamStatus;
  /** The full state, with `code` and `reason` after a problem. */
  readonly state: TraceStreamState;
  /** The latest problem; null once the stream is live again. */
  readonly error: TraceStreamError | null;
  readonly lastSeq: number;
  readonly missing: readonly SeqRange[];
  readonly droppedCount: number;
  /** Null unless the server refused events of this trace because another run reused its id. */
  readonly conflicts: TraceConflicts | null;
  /** Starts or resumes the stream (from idle, closed or failed). */
  readonly connect: () => void;
  /** Closes the socket; it stays closed (no auto-reconnect) until `connect()` or a new `traceId`. */
  readonly disconnect: () => void;
  /** Replaces the connection now; the way out of `failed`. */
  readonly reconnect: () => void;
}

const IDLE_SNAPSHOT: TraceStreamSnapshot = Object.freeze({
  traceId: "",
  state: Object.freeze({ status: "idle" as const }),
  status: "idle" as const,
  events: Object.freeze([]),
  lastSeq: -1,
  missing: Object.freeze([]),
  droppedCount: 0,
  duplicateCount: 0,
  error: null,
  conflicts: null,
});
const getIdleSnapshot = () => IDLE_SNAPSHOT;
const noop = () => {};

/**
 * Streams one trace into a component: every event once, in seq order, across reconnects.
 *
 * A new client (fresh state) is made when `traceId` or `url` changes; other options are read when
 * it is made, except `token` / `getToken`, which are read on every connect (so a refreshed token in
 * props is used). Pass `traceId` null to stay idle.
 */
export function useTraceStream(
  traceId: string | null | undefined,
  options: UseTraceStreamOptions,
): UseTraceStreamResult {
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  if (options.token === undefined && options.getToken === undefined) {
    throw new TypeError("useTraceStream needs `token` or `getToken`");
  }
  const url = String(options.url);

  const client = useMemo(() => {
    if (traceId === null || traceId === undefined) return null;
    // Creating a client has no side effects (no socket, no listeners) until connect().
    return new TraceStreamClient({
      ...latest.current,
      traceId,
      url,
      token: undefined,
      getToken: () => {
        const { token, getToken } = latest.current;
        return getToken === undefined ? (token ?? "") : getToken();
      },
    });
  }, [traceId, url]);

  const subscribe = useCallback(
    (onStoreChange: () => void) => batchedSubscribe(client, onStoreChange),
    [client],
  );
  const getSnapshot = client === null ? getIdleSnapshot : client.getSnapshot;
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);

  useConnectedWhileMounted(
    useMemo(() => client && { start: () => client.connect(), stop: () => client.disconnect() }, [client]),
    options.autoConnect !== false,
  );

  const connect = useCallback(() => client?.connect(), [client]);
  const disconnect = useCallback(() => client?.disconnect(), [client]);
  const reconnect = useCallback(() => client?.reconnect(), [client]);

  return useMemo(
    () => ({
      events: snapshot.events,
      status: snapshot.status,
      state: snapshot.state,
      error: snapshot.error,
      lastSeq: snapshot.lastSeq,
      missing: snapshot.missing,
      droppedCount: snapshot.droppedCount,
      conflicts: snapshot.conflicts,
      connect,
      disconnect,
      reconnect,
    }),
    [snapshot, connect, disconnect, reconnect],
  );
}

export interface UseRunsOptions extends Omit<RunsClientOptions, "getToken" | "filter"> {
  /** A token whose `traces` grants decide which runs are listed; or `getToken`. */
  readonly token?: string | undefined;
  /** Called before every connect (a refreshed token in props is used on the next one). */
  readonly getToken?: (() => string | Promise<string>) | undefined;
  /** Status and search; a new value lists again from the newest run (compared by value). */
  readonly filter?: RunsFilter | undefined;
  /** Connect on mount and whenever `url` changes. @default true */
  readonly autoConnect?: boolean | undefined;
}

export interface UseRunsResult extends RunsSnapshot {
  /** Asks for the next page (when `hasMore`). */
  readonly loadMore: () => void;
  /** Connects (after `autoConnect: false`, or after `close()`). */
  readonly start: () => void;
  /** Closes the socket; it stays closed until `start()` or a new `url`. */
  readonly close: () => void;
}

/**
 * The live runs list in a component: the newest runs the token may see, a page at a time, each
 * updated as its run progresses, across reconnects (a `RunsClient` underneath).
 *
 * A new client (an empty list) is made when `url` changes; `token` / `getToken` are read on every
 * connect and `filter` whenever it changes; other options are read when the client is made.
 */
export function useRuns(options: UseRunsOptions): UseRunsResult {
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  if (options.token === undefined && options.getToken === undefined) {
    throw new TypeError("useRuns needs `token` or `getToken`");
  }
  const url = String(options.url);

  const client = useMemo(() => {
    const { token: _token, getToken: _getToken, filter, autoConnect: _autoConnect, ...rest } = latest.current;
    // Creating a client has no side effects (no socket, no listeners) until start().
    return new RunsClient({
      ...rest,
      url,
      filter,
      getToken: () => {
        const { token, getToken } = latest.current;
        return getToken === undefined ? (token ?? "") : getToken();
      },
    });
  }, [url]);

  const subscribe = useCallback(
    (onStoreChange: () => void) => batchedSubscribe(client, onStoreChange),
    [client],
  );
  const snapshot = useSyncExternalStore(subscribe, client.getSnapshot, client.getSnapshot);

  useConnectedWhileMounted(
    useMemo(() => ({ start: () => client.start(), stop: () => client.close() }), [client]),
    options.autoConnect !== false,
  );

  const status = options.filter?.status;
  const search = options.filter?.search;
  useEffect(() => {
    // The client ignores a filter equal to the one it lists under.
    client.setFilter({ status, search });
  }, [client, status, search]);

  const loadMore = useCallback(() => client.loadMore(), [client]);
  const start = useCallback(() => client.start(), [client]);
  const close = useCallback(() => client.close(), [client]);
  return useMemo(() => ({ ...snapshot, loadMore, start, close }), [snapshot, loadMore, start, close]);
}

/**
 * Subscribes to a client's changes, turning a burst of them (a burst of frames) into one render on
 * the next frame; returns the unsubscribe `useSyncExternalStore` expects.
 */
function batchedSubscribe(
  client: { subscribe(listener: () => void): () => void } | null,
  onStoreChange: () => void,
): () => void {
  if (client === null) return noop;
  let scheduled = false;
  let active = true;
  const unsubscribe = client.subscribe(() => {
    if (scheduled) return;
    scheduled = true;
    scheduleRender(() => {
      scheduled = false;
      if (active) onStoreChange();
    });
  });
  return () => {
    active = false;
    unsubscribe();
  };
}

/**
 * Starts the connection after mount (when `auto`) and stops it on unmount or when `target`
 * changes. The start is deferred so StrictMode's mount-unmount-mount opens a single socket.
 */
function useConnectedWhileMounted(
  target: { readonly start: () => void; readonly stop: () => void } | null,
  auto: boolean,
): void {
  const autoAtMount = useRef(auto);
  useEffect(() => {
    autoAtMount.current = auto;
  });
  useEffect(() => {
    if (target === null) return;
    let mounted = true;
    if (autoAtMount.current) {
      queueMicrotask(() => {
        if (mounted) target.start();
      });
    }
    return () => {
      mounted = false;
      target.stop();
    };
  }, [target]);
}

/** On the next animation frame while the page is visible; otherwise (hidden tab, no DOM) on a task. */
function scheduleRender(render: () => void): void {
  const { document, requestAnimationFrame } = browserGlobals;
  if (document?.visibilityState === "visible" && typeof requestAnimationFrame === "function") {
    requestAnimationFrame(() => render());
  } else setTimeout(render, 0);
}
