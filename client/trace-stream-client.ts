import { isTerminal, type ReceivedTraceEvent, TRACE_ID_PATTERN } from "../protocol/event-names.js";
import { GATEWAY_THROTTLED, parseGatewayMessage } from "../protocol/gateway-message.js";
import { MAX_CONFLICTS_COUNTED } from "../protocol/limits.js";
import {
  type ClientMessage,
  type ConflictFrame,
  type ConflictsFrame,
  type ErrorFrame,
  type EventFrame,
  parseServerFrame,
  RAW_PONG,
} from "../protocol/server-frames.js";
import { fullJitterDelay } from "./subscriber-backoff.js";
import { EventWindow } from "./subscriber-event-window.js";
import {
  ReorderBuffer,
  rangesInclude,
  removeFromRanges,
  type SeqRange,
} from "./subscriber-reorder-buffer.js";
import {
  browserPageSignals,
  CONNECTING,
  isNodeWebSocket,
  OPEN,
  type PageSignals,
  realTimers,
  type Timers,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./subscriber-socket.js";
import {
  type DisconnectCode,
  type FailureCode,
  TraceStreamError,
  type TraceStreamState,
  type TraceStreamStatus,
} from "./subscriber-state.js";

/** Pause before resuming after API Gateway throttled a message: at least this ... */
const GATEWAY_RETRY_MIN_MS = 500;
/** ... plus up to this much, at random. */
const GATEWAY_RETRY_SPREAD_MS = 1500;

export interface ReconnectOptions {
  /** Upper bound of the first backoff delay (full jitter), in ms. @default 500 */
  readonly initialDelayMs?: number | undefined;
  /** Upper bound of any backoff delay, in ms. @default 30_000 */
  readonly maxDelayMs?: number | undefined;
  /**
   * Reconnect attempts in a row (without reaching `live` in between) before the state becomes
   * `failed` with code `attempts_exhausted`. @default Infinity
   */
  readonly maxAttempts?: number | undefined;
  /**
   * Only where the WebSocket implementation hides the HTTP status of a refused handshake (browsers):
   * after this many handshakes in a row fail while the browser is online, the state becomes `failed`
   * with code `handshake_refused` instead of retrying forever with a bad token. With `ws` in Node the
   * status is known exactly and this limit is not used. @default 4
   */
  readonly maxHandshakeFailures?: number | undefined;
}

export interface TraceStreamClientOptions {
  /** The WebSocket stage URL, e.g. `wss://abc.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly url: string | URL;
  readonly traceId: string;
  /** A JWT valid for `traceId`. Give this or `getToken`. */
  readonly token?: string | undefined;
  /** Called before every connect, so an expiring token can be refreshed. Give this or `token`. */
  readonly getToken?: (() => string | Promise<string>) | undefined;
  readonly reconnect?: ReconnectOptions | undefined;
  /**
   * A heartbeat goes out this often while open (it also keeps API Gateway's idle timer away): a
   * JSON ping, or, when the stream is live and no event arrived since the last heartbeat, a
   * `resume` from the cursor, whose `synced` answers like a pong. That quiet resume is what brings
   * in a trace's last events when their live copies were lost (nothing later opens a gap to
   * notice them by). @default 30_000
   */
  readonly heartbeatIntervalMs?: number | undefined;
  /** After a ping, the connection is replaced when no frame arrives within this. @default 10_000 */
  readonly pongTimeoutMs?: number | undefined;
  /** A seq gap open this long makes the client resume again. @default 2_000 */
  readonly gapTimeoutMs?: number | undefined;
  /**
   * EventBridge delivers out of order and retries, so an event reported `missing` may still be
   * stored later. For this long after it was reported, the client keeps trying to get it: later
   * resumes start from before it, and after a terminal event the socket stays open (no reconnect)
   * until it arrives or this time is up. It is shown in place whenever it arrives. @default 60_000
   */
  readonly lateEventWindowMs?: number | undefined;
  /** Events kept in memory (the oldest are released beyond it; the cursor is kept). @default 10_000 */
  readonly maxEvents?: number | undefined;
  /** WebSocket implementation; `ws` in Node 20. @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor | undefined;
  /** Online / visible signals; null turns them off. @default the browser's, where `window` exists */
  readonly pageSignals?: PageSignals | null | undefined;
  /** For tests. @default the global setTimeout / clearTimeout */
  readonly timers?: Timers | undefined;
  /** For tests: a number in [0, 1) for backoff jitter. @default Math.random */
  readonly random?: (() => number) | undefined;
}

/**
 * Events the server refused for this trace because their seq was already taken: another run
 * reused the trace id, and what the stream shows is the first run's events only.
 */
export interface TraceConflicts {
  /** Refused events: at least this many (the server's count, or the distinct ones heard of live). */
  readonly count: number;
  /** There were more than `count` (the server stopped counting at its limit). */
  readonly more: boolean;
  /** Refused seqs this client heard of, ascending, each once (a summary lists the first 100). */
  readonly seqs: readonly number[];
}

/** An immutable picture of the stream; a new object exactly when something changed. */
export interface TraceStreamSnapshot {
  readonly traceId: string;
  readonly state: TraceStreamState;
  readonly status: TraceStreamStatus;
  /** Retained events in seq order, each exactly once (at most `maxEvents`, the most recent). */
  readonly events: readonly ReceivedTraceEvent[];
  /** The cursor: the last contiguous seq shown (or skipped as missing); -1 before the first. */
  readonly lastSeq: number;
  /**
   * Seq ranges the server did not have when it said `synced`; they were passed. One that turns up
   * later (a delayed EventBridge retry) is still shown in place and leaves this list.
   */
  readonly missing: readonly SeqRange[];
  /** Events released from memory to stay within `maxEvents`. */
  readonly droppedCount: number;
  /** Deliveries dropped because their seq had already been shown or was already buffered. */
  readonly duplicateCount: number;
  /** The latest problem; cleared when the stream is live again. */
  readonly error: TraceStreamError | null;
  /** Null unless the server refused events of this trace (another run reused its id). */
  readonly conflicts: TraceConflicts | null;
}

/** What `on(type, listener)` listeners receive. */
export interface TraceStreamEventMap {
  /**
   * Each event once, in seq order; `client.lastSeq` already equals its seq. The one exception: a seq
   * reported `missing` that turns up later is delivered then (its seq is below `lastSeq`).
   */
  event: ReceivedTraceEvent;
  state: TraceStreamState;
  error: TraceStreamError;
  /** A seq range given up as missing after `synced`. */
  missing: SeqRange;
  /** The server refused events of this trace (another run reused its id): the new totals. */
  conflicts: TraceConflicts;
}

type ListenerSets = { [K in keyof TraceStreamEventMap]: Set<(value: TraceStreamEventMap[K]) => void> };

/** A missing range the client still hopes to receive, until `expiresAt` (epoch ms). */
interface RecoverableRange extends SeqRange {
  readonly expiresAt: number;
}

interface Connection {
  readonly socket: WebSocketLike;
  /** The handshake completed. */
  opened: boolean;
  /** The status of a refused handshake, when the implementation reports it. */
  httpStatus: number | undefined;
  /** The implementation reports handshake statuses (ws does, browsers do not). */
  readonly knowsHttpStatus: boolean;
}

const DEFAULTS = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxHandshakeFailures: 4,
  heartbeatIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  gapTimeoutMs: 2_000,
  lateEventWindowMs: 60_000,
  maxEvents: 10_000,
} as const;

/** Close code the client uses when it replaces a connection it considers dead. */
const CLOSE_UNHEALTHY = 4000;
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_ABNORMAL = 1006;

const noop = () => {};

/**
 * Subscribes to one trace and shows its events in seq order, each once, across reconnects.
 *
 * Framework-free: read it through `getSnapshot()` + `subscribe()` (a store for
 * `useSyncExternalStore`) or through `on("event" | "state" | "error" | "missing", listener)`.
 * Nothing happens until `connect()`.
 */
export class TraceStreamClient {
  readonly traceId: string;

  readonly #url: URL;
  readonly #token: string | undefined;
  readonly #getToken: (() => string | Promise<string>) | undefined;
  readonly #WebSocket: WebSocketConstructor;
  readonly #pageSignals: PageSignals | null;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxAttempts: number;
  readonly #maxHandshakeFailures: number;
  readonly #heartbeatIntervalMs: number;
  /** Whether a live event arrived since the last heartbeat (a quiet stream resumes instead of pinging). */
  #eventsSinceHeartbeat = false;
  readonly #pongTimeoutMs: number;
  readonly #gapTimeoutMs: number;
  readonly #lateEventWindowMs: number;

  #state: TraceStreamState = { status: "idle" };
  readonly #buffer = new ReorderBuffer();
  readonly #window: EventWindow;
  #missing: readonly SeqRange[] = Object.freeze([]);
  #recoverable: RecoverableRange[] = [];
  #duplicates = 0;
  #error: TraceStreamError | null = null;
  /** Refused events heard of, by event id (bounded by MAX_CONFLICTS_COUNTED). */
  readonly #refused = new Map<string, number>();
  /** The highest count and `more` any conflicts summary gave. */
  #conflictSummary = { count: 0, more: false };
  #conflicts: TraceConflicts | null = null;

  #connection: Connection | null = null;
  /** Bumped whenever pending asynchronous work (token fetch, timers) must be forgotten. */
  #run = 0;
  #attempt = 0;
  #handshakeFailures = 0;
  #reconnectTimer: unknown = null;
  #heartbeatTimer: unknown = null;
  #pongTimer: unknown = null;
  #gapTimer: unknown = null;
  /** A `resume` put off because the server asked the client to slow down. */
  #resumeTimer: unknown = null;
  /** After a terminal event with recoverable seqs: when to stop waiting for them. */
  #lingerTimer: unknown = null;
  #stopPageSignals: (() => void) | null = null;

  #snapshot: TraceStreamSnapshot | null = null;
  #batchDepth = 0;
  #changed = false;
  readonly #storeListeners = new Set<() => void>();
  readonly #listeners: ListenerSets = {
    event: new Set(),
    state: new Set(),
    error: new Set(),
    missing: new Set(),
    conflicts: new Set(),
  };

  constructor(options: TraceStreamClientOptions) {
    this.traceId = options.traceId;
    this.#url = parseStageUrl(options.url);
    if (options.token === undefined && options.getToken === undefined) {
      throw new TypeError("TraceStreamClient needs `token` or `getToken`");
    }
    this.#token = options.token;
    this.#getToken = options.getToken;
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (WebSocketImpl === undefined) {
      throw new TypeError(
        'No WebSocket implementation: pass `WebSocket` (in Node 20: `import WebSocket from "ws"`)',
      );
    }
    this.#WebSocket = WebSocketImpl;
    this.#pageSignals = options.pageSignals === undefined ? browserPageSignals() : options.pageSignals;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
    const reconnect = options.reconnect ?? {};
    this.#initialDelayMs = nonNegative(
      "reconnect.initialDelayMs",
      reconnect.initialDelayMs,
      DEFAULTS.initialDelayMs,
    );
    this.#maxDelayMs = nonNegative("reconnect.maxDelayMs", reconnect.maxDelayMs, DEFAULTS.maxDelayMs);
    this.#maxAttempts = nonNegative("reconnect.maxAttempts", reconnect.maxAttempts, DEFAULTS.maxAttempts);
    this.#maxHandshakeFailures = positive(
      "reconnect.maxHandshakeFailures",
      reconnect.maxHandshakeFailures,
      DEFAULTS.maxHandshakeFailures,
    );
    this.#heartbeatIntervalMs = positive(
      "heartbeatIntervalMs",
      options.heartbeatIntervalMs,
      DEFAULTS.heartbeatIntervalMs,
    );
    this.#pongTimeoutMs = positive("pongTimeoutMs", options.pongTimeoutMs, DEFAULTS.pongTimeoutMs);
    this.#gapTimeoutMs = positive("gapTimeoutMs", options.gapTimeoutMs, DEFAULTS.gapTimeoutMs);
    this.#lateEventWindowMs = nonNegative(
      "lateEventWindowMs",
      options.lateEventWindowMs,
      DEFAULTS.lateEventWindowMs,
    );
    this.#window = new EventWindow(options.maxEvents ?? DEFAULTS.maxEvents);
  }

  get state(): TraceStreamState {
    return this.#state;
  }

  /** The cursor: last contiguous seq shown or skipped; what the next `resume` sends. */
  get lastSeq(): number {
    return this.#buffer.cursor;
  }

  /** The current snapshot; the same object until something changes. Safe to pass around unbound. */
  readonly getSnapshot = (): TraceStreamSnapshot => {
    if (this.#snapshot === null) {
      this.#snapshot = Object.freeze({
        traceId: this.traceId,
        state: this.#state,
        status: this.#state.status,
        events: this.#window.toArray(),
        lastSeq: this.#buffer.cursor,
        missing: this.#missing,
        droppedCount: this.#window.droppedCount,
        duplicateCount: this.#duplicates,
        error: this.#error,
        conflicts: this.#conflicts,
      });
    }
    return this.#snapshot;
  };

  /**
   * Calls `listener` (no arguments) after anything in the snapshot changed, at most once per frame
   * received or per state change. Returns the unsubscribe function. Safe to pass around unbound.
   */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#storeListeners.add(listener);
    return () => this.#storeListeners.delete(listener);
  };

  on<K extends keyof TraceStreamEventMap>(
    type: K,
    listener: (value: TraceStreamEventMap[K]) => void,
  ): () => void {
    const listeners: Set<(value: TraceStreamEventMap[K]) => void> = this.#listeners[type];
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Starts streaming (from idle, closed or failed). Events already shown are kept; it resumes after them. */
  connect(): void {
    this.#batch(() => {
      switch (this.#state.status) {
        case "idle":
        case "closed":
        case "failed":
          this.#start();
      }
    });
  }

  /** Replaces the connection now, whatever the state (except ended); the way out of `failed`. */
  reconnect(): void {
    this.#batch(() => {
      if (this.#state.status === "ended") return;
      this.#teardown();
      this.#start();
    });
  }

  /**
   * Closes the socket and stays closed: nothing reconnects until `connect()` or `reconnect()`.
   * After `ended` or `failed` the state stays as it is (only a lingering socket is closed).
   */
  disconnect(): void {
    this.#batch(() => {
      switch (this.#state.status) {
        case "ended":
        case "failed":
          this.#teardown();
          return;
        case "closed":
          return;
      }
      this.#teardown();
      this.#setState({ status: "closed", code: "client_closed", reason: "disconnect() was called" });
    });
  }

  // -- lifecycle ------------------------------------------------------------------------------------

  #start(): void {
    this.#attempt = 0;
    this.#handshakeFailures = 0;
    if (this.#pageSignals !== null && this.#stopPageSignals === null) {
      this.#stopPageSignals = this.#pageSignals.subscribe(() => this.#batch(() => this.#onWake()));
    }
    this.#open();
  }

  #open(): void {
    const run = ++this.#run;
    this.#setState({ status: "connecting", attempt: this.#attempt });
    if (!TRACE_ID_PATTERN.test(this.traceId)) {
      this.#fail(
        "bad_request",
        `traceId ${JSON.stringify(this.traceId)} is malformed: use 1-128 characters of A-Za-z0-9._:/-`,
      );
      return;
    }
    let token: string | Promise<string>;
    try {
      token = this.#getToken === undefined ? (this.#token ?? "") : this.#getToken();
    } catch (cause) {
      this.#tokenUnavailable(cause);
      return;
    }
    if (typeof token === "string") {
      this.#openSocket(token);
      return;
    }
    Promise.resolve(token).then(
      (value) => this.#batch(() => run === this.#run && this.#openSocket(value)),
      (cause: unknown) => this.#batch(() => run === this.#run && this.#tokenUnavailable(cause)),
    );
  }

  #tokenUnavailable(cause: unknown): void {
    const reason = `getToken() failed: ${describe(cause)}`;
    this.#reportError(new TraceStreamError("token_unavailable", reason, { cause }));
    this.#retry("token_unavailable", reason);
  }

  #openSocket(token: string): void {
    if (typeof token !== "string" || token === "") {
      this.#tokenUnavailable(new TypeError("the token is empty or not a string"));
      return;
    }
    const url = new URL(this.#url);
    url.searchParams.set("traceId", this.traceId);
    url.searchParams.set("token", token);
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(url.toString());
    } catch (cause) {
      this.#retry("connection_lost", `could not open a WebSocket: ${describe(cause)}`);
      return;
    }
    const knowsHttpStatus = isNodeWebSocket(socket);
    const connection: Connection = { socket, opened: false, httpStatus: undefined, knowsHttpStatus };
    this.#connection = connection;
    if (isNodeWebSocket(socket)) {
      socket.on("unexpected-response", (_request, response) => {
        connection.httpStatus = response.statusCode;
        // ws leaves a refused handshake to this listener; terminating emits the close we act on.
        socket.terminate();
      });
    }
    socket.onopen = () => this.#batch(() => this.#onOpen(connection));
    socket.onmessage = (message) => this.#batch(() => this.#onMessage(connection, message.data));
    socket.onclose = (event) => this.#batch(() => this.#onClose(connection, event.code, event.reason));
    // A close event always follows an error; ws also throws when an 'error' has no listener.
    socket.onerror = noop;
  }

  #onOpen(connection: Connection): void {
    if (connection !== this.#connection) return;
    connection.opened = true;
    this.#handshakeFailures = 0;
    this.#setState({ status: "backfilling" });
    this.#resume();
    this.#scheduleHeartbeat();
  }

  #onClose(connection: Connection, code: number, reason: string): void {
    if (connection !== this.#connection) return;
    this.#connection = null;
    this.#clearConnectionTimers();
    if (!connection.opened) {
      this.#onHandshakeFailure(connection);
      return;
    }
    const detail = `${code}${reason ? ` ${reason}` : ""}`;
    if (code === CLOSE_GOING_AWAY) {
      this.#retry("going_away", `the server closed the connection (${detail}): its time or idle limit`);
    } else if (code === CLOSE_ABNORMAL) {
      this.#retry("connection_lost", "the connection dropped without a close frame (1006)");
    } else {
      this.#retry("server_closed", `the server closed the connection (${detail})`);
    }
  }

  /**
   * With `ws`, the status of a refused handshake is exact: 401 and 403 are final. Browsers report
   * every refused handshake as a bare 1006, so there the client counts failed handshakes in a row
   * while online and gives up after `maxHandshakeFailures` (the token was most likely refused).
   */
  #onHandshakeFailure({ httpStatus, knowsHttpStatus }: Connection): void {
    if (httpStatus === 401) {
      this.#fail("unauthorized", "the server refused the token (HTTP 401): missing, expired or invalid", 401);
      return;
    }
    if (httpStatus === 403) {
      this.#fail(
        "forbidden",
        `the token does not grant trace ${JSON.stringify(this.traceId)} (HTTP 403)`,
        403,
      );
      return;
    }
    if (httpStatus === 400) {
      this.#fail("bad_request", `the server rejected the request (HTTP 400): is the traceId valid?`, 400);
      return;
    }
    if (httpStatus !== undefined) {
      this.#retry("handshake_failed", `the handshake was answered with HTTP ${httpStatus}`);
      return;
    }
    if (!knowsHttpStatus && (this.#pageSignals?.isOnline() ?? true)) {
      this.#handshakeFailures++;
      if (this.#handshakeFailures >= this.#maxHandshakeFailures) {
        this.#fail(
          "handshake_refused",
          `${this.#handshakeFailures} handshakes in a row failed while online: ` +
            "the token was most likely refused (or the endpoint is down)",
        );
        return;
      }
    }
    this.#retry("connection_lost", "the connection could not be opened");
  }

  #retry(code: DisconnectCode, reason: string): void {
    if (this.#state.status === "ended") {
      // A socket kept open after the end for late events went away: nothing reconnects.
      this.#teardown();
      return;
    }
    this.#dropConnection(CLOSE_UNHEALTHY, code, code === "pong_timeout");
    this.#clearConnectionTimers();
    if (this.#attempt >= this.#maxAttempts) {
      this.#fail(
        "attempts_exhausted",
        `gave up after ${this.#attempt} reconnect attempts; the last: ${reason}`,
      );
      return;
    }
    const delayMs = fullJitterDelay(
      this.#attempt,
      { initialDelayMs: this.#initialDelayMs, maxDelayMs: this.#maxDelayMs },
      this.#random,
    );
    this.#attempt++;
    const run = ++this.#run;
    this.#setState({ status: "reconnecting", attempt: this.#attempt, delayMs, code, reason });
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#reconnectTimer = null;
        if (run === this.#run) this.#open();
      });
    }, delayMs);
  }

  #fail(code: FailureCode, reason: string, httpStatus?: number): void {
    this.#teardown();
    this.#reportError(new TraceStreamError(code, reason, httpStatus === undefined ? {} : { httpStatus }));
    this.#setState(
      httpStatus === undefined
        ? { status: "failed", code, reason }
        : { status: "failed", code, reason, httpStatus },
    );
  }

  #end(event: ReceivedTraceEvent): void {
    this.#setState({
      status: "ended",
      code: "terminal_event",
      reason: `the trace ended with ${event.event} (seq ${event.seq})`,
      event,
    });
    const lingerMs = this.#recoverableFor();
    if (lingerMs <= 0 || this.#connection === null) {
      this.#teardown();
      return;
    }
    // Seqs reported missing may still be on their way (delayed or retried deliveries): keep the
    // socket, where the emitter posts them live, until they arrive or their window closes.
    if (this.#gapTimer !== null) this.#timers.clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    this.#stopPageSignals?.();
    this.#stopPageSignals = null;
    this.#lingerTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#lingerTimer = null;
        this.#teardown();
      });
    }, lingerMs);
  }

  /** Drops expired recoverable ranges; returns how long the last of the rest stays recoverable. */
  #recoverableFor(): number {
    const now = this.#timers.now();
    this.#recoverable = this.#recoverable.filter((range) => range.expiresAt > now);
    return Math.max(0, ...this.#recoverable.map((range) => range.expiresAt - now));
  }

  /** Forgets the connection, every timer and pending async step, and the page signals. */
  #teardown(): void {
    this.#run++;
    this.#dropConnection(CLOSE_NORMAL, "client closed");
    this.#clearConnectionTimers();
    for (const timer of [this.#reconnectTimer, this.#lingerTimer]) {
      if (timer !== null) this.#timers.clearTimeout(timer);
    }
    this.#reconnectTimer = null;
    this.#lingerTimer = null;
    this.#stopPageSignals?.();
    this.#stopPageSignals = null;
  }

  /** Detaches and closes the socket; `terminate` skips the close handshake (a dead peer never answers). */
  #dropConnection(code: number, reason: string, terminate = false): void {
    const connection = this.#connection;
    if (connection === null) return;
    this.#connection = null;
    const { socket } = connection;
    socket.onopen = noop;
    socket.onmessage = noop;
    socket.onclose = noop;
    if (socket.readyState !== CONNECTING && socket.readyState !== OPEN) return;
    if (terminate && isNodeWebSocket(socket)) {
      // ws would wait 30 s for the close handshake of a dead peer.
      socket.terminate();
      return;
    }
    try {
      socket.close(code, reason.slice(0, 120));
    } catch {
      // Closing a socket that is already failing can throw in some implementations; it is gone anyway.
    }
  }

  #clearConnectionTimers(): void {
    for (const timer of [this.#heartbeatTimer, this.#pongTimer, this.#gapTimer, this.#resumeTimer]) {
      if (timer !== null) this.#timers.clearTimeout(timer);
    }
    this.#heartbeatTimer = null;
    this.#pongTimer = null;
    this.#gapTimer = null;
    this.#resumeTimer = null;
  }

  #onWake(): void {
    const status = this.#state.status;
    if (status === "reconnecting") {
      if (this.#reconnectTimer !== null) this.#timers.clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
      this.#open();
    } else if (status === "backfilling" || status === "live") {
      if (this.#connection?.socket.readyState !== OPEN) {
        this.#retry("connection_lost", "the socket was not open when the page came back");
      } else {
        // The socket may have died while the laptop slept: a ping with a deadline tells.
        this.#ping();
      }
    }
  }

  // -- heartbeat and gaps ---------------------------------------------------------------------------

  #send(message: ClientMessage): boolean {
    const socket = this.#connection?.socket;
    if (socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /** Asks for everything after the cursor, or after the oldest seq still worth recovering. */
  #resume(): boolean {
    this.#recoverableFor();
    const oldest = Math.min(...this.#recoverable.map((range) => range.from));
    return this.#send({ action: "resume", afterSeq: Math.min(this.#buffer.cursor, oldest - 1) });
  }

  /**
   * Sends `resume` after `delayMs` instead of now: the server or API Gateway refused one for its
   * rate. Asking again at once would only be refused again; a reconnect would lose the cursor's
   * place in the queue of connects too.
   */
  #deferResume(delayMs: number): void {
    if (this.#resumeTimer !== null) return;
    this.#resumeTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#resumeTimer = null;
        if (this.#isStreaming()) this.#resume();
      });
    }, delayMs);
  }

  #scheduleHeartbeat(): void {
    this.#heartbeatTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#heartbeatTimer = null;
        const quiet = !this.#eventsSinceHeartbeat && this.#state.status === "live";
        this.#eventsSinceHeartbeat = false;
        this.#ping(quiet);
        if (this.#connection !== null) this.#scheduleHeartbeat();
      });
    }, this.#heartbeatIntervalMs);
  }

  /** Sends a heartbeat and arms the pong deadline; `asResume` sends a quiet-stream resume instead. */
  #ping(asResume = false): void {
    const sent = asResume ? this.#resume() : this.#send({ action: "ping" });
    if (!sent || this.#pongTimer !== null) return;
    this.#pongTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#pongTimer = null;
        this.#retry("pong_timeout", `no pong within ${this.#pongTimeoutMs} ms of a ping`);
      });
    }, this.#pongTimeoutMs);
  }

  #markAlive(): void {
    if (this.#pongTimer === null) return;
    this.#timers.clearTimeout(this.#pongTimer);
    this.#pongTimer = null;
  }

  #updateGapTimer(): void {
    if (!this.#buffer.hasGap) {
      if (this.#gapTimer !== null) this.#timers.clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
      return;
    }
    if (this.#gapTimer !== null || this.#connection === null) return;
    this.#gapTimer = this.#timers.setTimeout(() => {
      this.#batch(() => {
        this.#gapTimer = null;
        if (!this.#buffer.hasGap) return;
        // The `synced` answering this resume passes whatever the server no longer has.
        this.#resume();
        this.#updateGapTimer();
      });
    }, this.#gapTimeoutMs);
  }

  // -- frames ---------------------------------------------------------------------------------------

  #onMessage(connection: Connection, data: unknown): void {
    if (connection !== this.#connection) return;
    if (typeof data !== "string") {
      this.#reportError(new TraceStreamError("bad_frame", "received a binary frame; frames are JSON text"));
      return;
    }
    if (data === RAW_PONG) {
      this.#markAlive();
      return;
    }
    let frame: ReturnType<typeof parseServerFrame>;
    try {
      frame = parseServerFrame(data);
    } catch (cause) {
      const gatewayMessage = parseGatewayMessage(data);
      if (gatewayMessage !== undefined) {
        this.#onGatewayMessage(gatewayMessage.message);
        return;
      }
      this.#reportError(
        new TraceStreamError("bad_frame", `ignored a frame that is not a valid server frame: ${clip(data)}`, {
          cause,
        }),
      );
      return;
    }
    this.#markAlive();
    switch (frame.type) {
      case "event":
        this.#eventsSinceHeartbeat = true;
        this.#acceptEvents([eventOf(frame)]);
        return;
      case "events":
        if (this.#isOtherTrace(frame.trace_id)) return;
        this.#acceptEvents(frame.events);
        return;
      case "synced":
        if (this.#isOtherTrace(frame.trace_id)) return;
        this.#onSynced(frame.last_seq, frame.more === true);
        return;
      case "pong":
        return;
      case "error":
        this.#onErrorFrame(frame);
        return;
      case "conflict":
        if (this.#isOtherTrace(frame.trace_id)) return;
        this.#onConflicts([frame], undefined);
        return;
      case "conflicts":
        if (this.#isOtherTrace(frame.trace_id)) return;
        this.#onConflicts(frame.refused, frame);
        return;
    }
  }

  /**
   * Folds what the server said about refused events into `conflicts`: the union of the refused
   * events heard of (by event id) and the highest count a summary gave, so the result is the same
   * whatever order live notices and summaries arrive in, and however often.
   */
  #onConflicts(
    refused: readonly Pick<ConflictFrame, "seq" | "event_id">[],
    summary: Pick<ConflictsFrame, "count" | "more"> | undefined,
  ): void {
    let overflow = false;
    for (const { seq, event_id: eventId } of refused) {
      if (this.#refused.has(eventId)) continue;
      if (this.#refused.size >= MAX_CONFLICTS_COUNTED) {
        overflow = true;
        continue;
      }
      this.#refused.set(eventId, seq);
    }
    this.#conflictSummary = {
      count: Math.max(this.#conflictSummary.count, summary?.count ?? 0),
      more: this.#conflictSummary.more || summary?.more === true || overflow,
    };
    const seqs = [...new Set(this.#refused.values())].sort((a, b) => a - b);
    const count = Math.max(this.#conflictSummary.count, this.#refused.size);
    const more = this.#conflictSummary.more;
    const previous = this.#conflicts;
    if (
      previous !== null &&
      previous.count === count &&
      previous.more === more &&
      previous.seqs.length === seqs.length &&
      previous.seqs.every((seq, index) => seq === seqs[index])
    ) {
      return;
    }
    const next: TraceConflicts = Object.freeze({ count, more, seqs: Object.freeze(seqs) });
    this.#conflicts = next;
    this.#changed = true;
    this.#snapshot = null;
    this.#emit("conflicts", next);
  }

  #isOtherTrace(traceId: string): boolean {
    if (traceId === this.traceId) return false;
    this.#reportError(
      new TraceStreamError("wrong_trace", `ignored a frame for trace ${JSON.stringify(traceId)}`),
    );
    return true;
  }

  #acceptEvents(events: readonly ReceivedTraceEvent[]): void {
    for (const event of events) {
      if (this.#isOtherTrace(event.trace_id)) continue;
      if (event.seq <= this.#buffer.cursor && rangesInclude(this.#missing, event.seq)) {
        this.#fillMissing(event);
        continue;
      }
      if (!this.#buffer.insert(event)) {
        this.#duplicates++;
        this.#changed = true;
        this.#snapshot = null;
      }
    }
    this.#drain();
    if (this.#isStreaming()) this.#updateGapTimer();
  }

  /** Shows every event that is next in seq order; stops at a gap, a terminal event or a close. */
  #drain(): void {
    while (this.#isStreaming()) {
      const event = this.#buffer.shift();
      if (event === undefined) return;
      // The cursor (buffer.cursor) is already event.seq here, before any listener runs.
      this.#window.push(event);
      this.#changed = true;
      this.#snapshot = null;
      this.#emit("event", event);
      if (isTerminal(event)) {
        this.#end(event);
        return;
      }
    }
  }

  /** `more`: the replay was one page; ask for the next from the cursor before going live. */
  #onSynced(lastSeq: number, more: boolean): void {
    this.#drain();
    while (this.#isStreaming() && this.#buffer.cursor < lastSeq) {
      const range = this.#buffer.skipGap(lastSeq);
      if (range === undefined) break;
      this.#addMissing(range);
      this.#drain();
    }
    if (!this.#isStreaming()) return;
    if (more) {
      this.#resume();
      return;
    }
    this.#updateGapTimer();
    if (this.#state.status === "backfilling") {
      this.#attempt = 0;
      this.#error = null;
      this.#setState({ status: "live" });
    }
  }

  #addMissing(range: SeqRange): void {
    const last = this.#missing.at(-1);
    this.#missing = Object.freeze(
      last !== undefined && last.to + 1 === range.from
        ? [...this.#missing.slice(0, -1), { from: last.from, to: range.to }]
        : [...this.#missing, range],
    );
    if (this.#lateEventWindowMs > 0) {
      this.#recoverable.push({ ...range, expiresAt: this.#timers.now() + this.#lateEventWindowMs });
    }
    this.#changed = true;
    this.#snapshot = null;
    this.#emit("missing", range);
  }

  /**
   * A seq given up as missing turned up after all (an EventBridge retry can store an event long
   * after later ones): it is shown in its seq position and leaves `missing`. The cursor stays.
   */
  #fillMissing(event: ReceivedTraceEvent): void {
    this.#missing = Object.freeze(removeFromRanges(this.#missing, event.seq));
    this.#recoverable = removeFromRanges(this.#recoverable, event.seq);
    this.#window.insertInOrder(event);
    this.#changed = true;
    this.#snapshot = null;
    this.#emit("event", event);
    if (this.#lingerTimer !== null && this.#recoverableFor() === 0) this.#teardown();
  }

  /**
   * API Gateway's own answer to a message: a throttle ("Too Many Requests") or a failed
   * integration. The connection is alive (it answered); the message that was refused may have been
   * a `resume`, so one is sent again after a pause, spread so that throttled clients do not
   * return together.
   */
  #onGatewayMessage(message: string): void {
    this.#markAlive();
    if (message !== GATEWAY_THROTTLED) {
      this.#reportError(new TraceStreamError("server_error", `API Gateway answered: ${clip(message)}`));
    }
    if (this.#isStreaming())
      this.#deferResume(GATEWAY_RETRY_MIN_MS + this.#random() * GATEWAY_RETRY_SPREAD_MS);
  }

  #onErrorFrame(frame: ErrorFrame): void {
    if (frame.code === "rate_limited") {
      // Not worth an error: the client paces its own resumes by what the server says.
      this.#markAlive();
      if (this.#isStreaming())
        this.#deferResume((frame.retry_after_ms ?? GATEWAY_RETRY_MIN_MS) + this.#random() * 250);
      return;
    }
    const error = new TraceStreamError("server_error", `the server sent ${frame.code}: ${frame.message}`, {
      serverCode: frame.code,
    });
    this.#reportError(error);
    if (frame.code === "not_subscribed" || frame.code === "internal_error") {
      // A fresh connection writes a fresh subscription and replays from the cursor.
      this.#retry("server_error", error.message);
    }
  }

  #isStreaming(): boolean {
    const status = this.#state.status;
    return status === "backfilling" || status === "live";
  }

  // -- notification ---------------------------------------------------------------------------------

  #setState(state: TraceStreamState): void {
    this.#state = state;
    this.#changed = true;
    this.#snapshot = null;
    this.#emit("state", state);
  }

  #reportError(error: TraceStreamError): void {
    this.#error = error;
    this.#changed = true;
    this.#snapshot = null;
    this.#emit("error", error);
  }

  #emit<K extends keyof TraceStreamEventMap>(type: K, value: TraceStreamEventMap[K]): void {
    const listeners: Set<(value: TraceStreamEventMap[K]) => void> = this.#listeners[type];
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (cause) {
        if (type !== "error") {
          this.#reportError(
            new TraceStreamError("listener_failed", `a "${type}" listener threw: ${describe(cause)}`, {
              cause,
            }),
          );
        }
      }
    }
  }

  /** Runs `work`, then tells store listeners once if anything changed (nested calls defer to the outer). */
  #batch(work: () => unknown): void {
    this.#batchDepth++;
    try {
      work();
    } finally {
      this.#batchDepth--;
    }
    if (this.#batchDepth > 0 || !this.#changed) return;
    this.#changed = false;
    for (const listener of this.#storeListeners) {
      try {
        listener();
      } catch (cause) {
        this.#reportError(
          new TraceStreamError("listener_failed", `a store listener threw: ${describe(cause)}`, { cause }),
        );
      }
    }
  }
}

function eventOf(frame: EventFrame): ReceivedTraceEvent {
  const { type: _type, ...event } = frame;
  return event;
}

function parseStageUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(`url ${JSON.stringify(String(url))} is not a URL`, { cause });
  }
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`url must start with wss:// (or ws:// locally), got ${JSON.stringify(parsed.href)}`);
  }
  return parsed;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isNaN(value) || value < 0) throw new RangeError(`${name} must be >= 0, got ${value}`);
  return value;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isNaN(value) || value <= 0) throw new RangeError(`${name} must be > 0, got ${value}`);
  return value;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
