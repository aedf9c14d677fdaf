/**
 * RunsClient: watch the runs list (`?runs=1` on the same WebSocket API). It pages through the
 * runs a token grants with `listRuns`, keeps them merged with the live `run` frames the emitter
 * posts as runs start and progress, and reconnects with backoff. No runtime dependencies.
 */
import type {
  ErrorFrame,
  ListRunsMessage,
  RunFilter,
  RunSummaryWire,
  ServerFrame,
} from "../protocol/server-frames.js";
import { parseServerFrame } from "../protocol/server-frames.js";
import { fullJitterDelay } from "./subscriber-backoff.js";
import {
  realTimers,
  type Timers,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./subscriber-socket.js";

export type { RunFilter, RunSummaryWire };

export interface RunsFilter {
  /** Only runs in this state ("stalled": running without an event for `stalledAfterMs`). */
  readonly status?: RunFilter | undefined;
  /** A trace id prefix, or words of the goal (case-insensitive). */
  readonly search?: string | undefined;
}

export interface RunsClientOptions {
  /** The WebSocket stage URL, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly url: string | URL;
  /** Called before every connect. The token's `traces` grants decide which runs are listed. */
  readonly getToken: () => string | Promise<string>;
  /** Runs per page. @default 25 */
  readonly pageSize?: number | undefined;
  /** A running run without events for this long is stalled. @default 120_000 */
  readonly stalledAfterMs?: number | undefined;
  readonly filter?: RunsFilter | undefined;
  /** Upper bounds of the backoff delays (full jitter), in ms. @default 500 and 30_000 */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number } | undefined;
  /** A JSON ping goes out this often, so API Gateway's 10-minute idle timer never fires. @default 300_000 */
  readonly heartbeatIntervalMs?: number | undefined;
  /** A page that has not come back after this long is given up (and may be asked for again). @default 15_000 */
  readonly requestTimeoutMs?: number | undefined;
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor | undefined;
  readonly timers?: Timers | undefined;
  readonly random?: (() => number) | undefined;
}

export type RunsConnection = "connecting" | "open" | "reconnecting" | "closed";

export interface RunsSnapshot {
  readonly connection: RunsConnection;
  /** Newest first (start time, then trace id). */
  readonly runs: readonly RunSummaryWire[];
  readonly filter: RunsFilter;
  /** More pages can be loaded. */
  readonly hasMore: boolean;
  /** A page is on its way. */
  readonly loading: boolean;
  /** The last problem (a refused request, a lost connection); cleared by the next page. */
  readonly error: string | undefined;
}

const DEFAULTS = {
  pageSize: 25,
  stalledAfterMs: 120_000,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  heartbeatIntervalMs: 300_000,
  requestTimeoutMs: 15_000,
};
/** Failed connects in a row before the client reports the connection as refused (it keeps trying). */
const REFUSED_AFTER = 4;

/** True when a run is running but has had no event for `stalledAfterMs` (pure). */
export function isStalled(run: RunSummaryWire, now: number, stalledAfterMs: number): boolean {
  return run.status === "running" && now - run.last_event_at >= stalledAfterMs;
}

/** The same test the server applies to `listRuns`, for live updates (pure). */
export function matchesRunsFilter(
  run: RunSummaryWire,
  filter: RunsFilter,
  now: number,
  stalledAfterMs: number,
): boolean {
  const { status } = filter;
  if (status === "stalled" && !isStalled(run, now, stalledAfterMs)) return false;
  if (status === "running" && (run.status !== "running" || isStalled(run, now, stalledAfterMs))) return false;
  if ((status === "completed" || status === "failed") && run.status !== status) return false;
  const search = filter.search?.trim() ?? "";
  if (search === "") return true;
  return run.trace_id.startsWith(search) || (run.goal?.toLowerCase().includes(search.toLowerCase()) ?? false);
}

/**
 * Which of two copies of one run's summary is later (pure). A page read before an update can
 * arrive after the update's live frame; summaries only grow, so the further one wins.
 */
export function laterRun(a: RunSummaryWire, b: RunSummaryWire): RunSummaryWire {
  const progress = (run: RunSummaryWire) => [
    run.status === "running" ? 0 : 1,
    run.tool_calls + run.errors + run.model_calls,
    run.last_event_at,
    run.goal === undefined ? 0 : 1,
  ];
  const [pa, pb] = [progress(a), progress(b)];
  for (let index = 0; index < pa.length; index++) {
    if ((pa[index] ?? 0) !== (pb[index] ?? 0)) return (pa[index] ?? 0) > (pb[index] ?? 0) ? a : b;
  }
  return b;
}

/** Newest first: start time, then trace id (the server's page order). */
export function byNewest(a: RunSummaryWire, b: RunSummaryWire): number {
  if (a.started_at !== b.started_at) return b.started_at - a.started_at;
  return a.trace_id < b.trace_id ? 1 : a.trace_id > b.trace_id ? -1 : 0;
}

type Listener = (snapshot: RunsSnapshot) => void;

export class RunsClient {
  readonly #options: RunsClientOptions;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #pageSize: number;
  readonly #stalledAfterMs: number;
  readonly #listeners = new Set<Listener>();
  #runs = new Map<string, RunSummaryWire>();
  #filter: RunsFilter;
  #connection: RunsConnection = "closed";
  #next: string | undefined;
  #hasMore = false;
  #error: string | undefined;
  #socket: WebSocketLike | null = null;
  #stopped = true;
  #attempt = 0;
  #timer: unknown = null;
  #heartbeat: unknown = null;
  /** The request in flight (one at a time, so each `runs` frame answers the one sent). */
  #inFlight: { readonly first: boolean; readonly timeout: unknown } | null = null;
  /** What to ask for once the request in flight is answered. */
  #queued: "first" | "more" | null = null;
  #snapshot: RunsSnapshot | null = null;

  constructor(options: RunsClientOptions) {
    this.#options = options;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
    this.#pageSize = options.pageSize ?? DEFAULTS.pageSize;
    this.#stalledAfterMs = options.stalledAfterMs ?? DEFAULTS.stalledAfterMs;
    this.#filter = options.filter ?? {};
  }

  /** The current snapshot; the same object until something changes. */
  readonly getSnapshot = (): RunsSnapshot => {
    this.#snapshot ??= Object.freeze({
      connection: this.#connection,
      runs: [...this.#runs.values()].sort(byNewest),
      filter: this.#filter,
      hasMore: this.#hasMore,
      loading: this.#inFlight !== null || this.#queued !== null,
      error: this.#error,
    });
    return this.#snapshot;
  };

  /** Calls `listener` on every change; returns a function that stops it. */
  readonly subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#connect();
  }

  close(): void {
    this.#stopped = true;
    this.#clearTimers();
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, "closed by the client");
    this.#set({ connection: "closed" });
  }

  /** Lists from the newest run again under a new filter. */
  setFilter(filter: RunsFilter): void {
    const same = (a: RunsFilter) => `${a.status ?? ""}\u0000${a.search?.trim() ?? ""}`;
    // The first page under the current filter is already listed (or asked for) on every open.
    if (same(filter) === same(this.#filter)) return;
    this.#filter = { ...filter };
    this.#request("first");
    this.#changed();
  }

  /** Asks for the next page, if there is one. */
  loadMore(): void {
    if (this.#hasMore) this.#request("more");
  }

  async #connect(): Promise<void> {
    this.#set({ connection: this.#attempt === 0 ? "connecting" : "reconnecting" });
    let token: string;
    try {
      token = await this.#options.getToken();
    } catch (error) {
      this.#set({ error: `no token for the runs list: ${String(error)}` });
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) return;
    const url = new URL(String(this.#options.url));
    url.searchParams.set("runs", "1");
    url.searchParams.set("token", token);
    const Socket = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Socket === undefined) throw new Error("No WebSocket implementation: pass options.WebSocket");
    const socket = new Socket(url.href);
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#attempt = 0;
      this.#set({ connection: "open", error: undefined });
      this.#armHeartbeat();
      // A new connection may have missed updates: list from the newest run again.
      this.#inFlight = null;
      this.#request("first");
    };
    socket.onmessage = (message) => {
      if (this.#socket === socket && typeof message.data === "string") this.#receive(message.data);
    };
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#clearTimers();
      if (this.#stopped) return;
      if (!opened && this.#attempt + 1 >= REFUSED_AFTER) {
        this.#set({ error: "the runs list connection was refused: does the token grant any traces?" });
      }
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = fullJitterDelay(
      this.#attempt++,
      {
        initialDelayMs: this.#options.reconnect?.initialDelayMs ?? DEFAULTS.initialDelayMs,
        maxDelayMs: this.#options.reconnect?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      },
      this.#random,
    );
    this.#set({ connection: "reconnecting" });
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, delay);
  }

  #armHeartbeat(): void {
    this.#heartbeat = this.#timers.setTimeout(() => {
      this.#send({ action: "ping" });
      this.#armHeartbeat();
    }, this.#options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs);
  }

  #clearTimers(): void {
    for (const handle of [this.#timer, this.#heartbeat, this.#inFlight?.timeout]) {
      if (handle !== null && handle !== undefined) this.#timers.clearTimeout(handle);
    }
    this.#timer = null;
    this.#heartbeat = null;
    this.#inFlight = null;
  }

  #send(message: ListRunsMessage | { action: "ping" }): boolean {
    if (this.#socket === null || this.#socket.readyState !== 1) return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  #request(which: "first" | "more"): void {
    if (this.#inFlight !== null) {
      // A new first page replaces whatever was queued; "more" never overrides "first".
      if (which === "first" || this.#queued === null) this.#queued = which;
      return;
    }
    const search = this.#filter.search?.trim();
    const message: ListRunsMessage = {
      action: "listRuns",
      limit: this.#pageSize,
      stalledAfterMs: this.#stalledAfterMs,
      ...(this.#filter.status ? { status: this.#filter.status } : {}),
      ...(search ? { search } : {}),
      ...(which === "more" && this.#next !== undefined ? { after: this.#next } : {}),
    };
    if (!this.#send(message)) return; // the next open lists the first page
    const timeout = this.#timers.setTimeout(
      () => this.#answered(),
      this.#options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    );
    this.#inFlight = { first: which === "first", timeout };
    this.#changed();
  }

  /** The request in flight is answered (or given up): send what is queued. */
  #answered(): void {
    if (this.#inFlight) this.#timers.clearTimeout(this.#inFlight.timeout);
    this.#inFlight = null;
    const queued = this.#queued;
    this.#queued = null;
    if (queued !== null) this.#request(queued);
    this.#changed();
  }

  #receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = parseServerFrame(text);
    } catch {
      return; // a gateway message ("Forbidden", throttling) or a frame of a newer server
    }
    if (frame.type === "runs") {
      const request = this.#inFlight;
      // A page answering a request that a newer filter has replaced is dropped.
      if (request !== null && this.#queued !== "first") {
        if (request.first) this.#runs = new Map();
        for (const run of frame.runs) this.#hold(run);
        this.#next = frame.next;
        this.#hasMore = frame.next !== undefined;
        this.#error = undefined;
      }
      this.#answered();
    } else if (frame.type === "run") {
      const now = this.#timers.now();
      if (matchesRunsFilter(frame.run, this.#filter, now, this.#stalledAfterMs)) this.#hold(frame.run);
      else this.#runs.delete(frame.run.trace_id);
      this.#changed();
    } else if (frame.type === "error") {
      this.#refused(frame);
    }
  }

  #refused(frame: ErrorFrame): void {
    if (this.#inFlight === null) return;
    this.#error = frame.message;
    if (frame.code === "rate_limited") {
      const which = this.#inFlight.first ? "first" : "more";
      this.#answered();
      this.#timer = this.#timers.setTimeout(() => this.#request(which), frame.retry_after_ms ?? 1000);
      return;
    }
    this.#answered();
  }

  #hold(run: RunSummaryWire): void {
    const held = this.#runs.get(run.trace_id);
    this.#runs.set(run.trace_id, held ? laterRun(held, run) : run);
  }

  #set(fields: { connection?: RunsConnection; error?: string | undefined }): void {
    if (fields.connection !== undefined) this.#connection = fields.connection;
    if ("error" in fields) this.#error = fields.error;
    this.#changed();
  }

  #changed(): void {
    this.#snapshot = null;
    const snapshot = this.getSnapshot();
    for (const listener of this.#listeners) listener(snapshot);
  }
}
