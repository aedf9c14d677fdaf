/**
 * The parts of a WebSocket the client uses: the browser `WebSocket` and the `ws` package both fit.
 * Handlers are declared bivariantly so both implementations' own event types are accepted.
 */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `readyState` of an open socket (the same in every implementation). */
export const OPEN = 1;
/** `readyState` of a socket still in its handshake. */
export const CONNECTING = 0;

/**
 * Node's `ws` is also an EventEmitter: it reports a refused handshake as `unexpected-response` with
 * the HTTP status, and can `terminate()` a socket without waiting for a close handshake.
 */
interface NodeWebSocket extends WebSocketLike {
  on(
    event: "unexpected-response",
    listener: (request: unknown, response: { readonly statusCode?: number }) => void,
  ): unknown;
  terminate(): void;
}

export function isNodeWebSocket(socket: WebSocketLike): socket is NodeWebSocket {
  const candidate = socket as Partial<Record<"on" | "terminate", unknown>>;
  return typeof candidate.on === "function" && typeof candidate.terminate === "function";
}

/** Timers and the clock the client uses; tests can inject their own. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Epoch milliseconds. */
  now(): number;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
};

/**
 * Signals that the page may have its network back: the browser went `online`, or the tab became
 * visible again (a laptop waking from sleep). The client then reconnects at once or checks the
 * socket with a ping instead of waiting for its backoff timer or heartbeat.
 */
export interface PageSignals {
  /** Calls `onWake` on each signal; returns a function that stops listening. */
  subscribe(onWake: () => void): () => void;
  /** False when the platform knows it is offline (`navigator.onLine`). */
  isOnline(): boolean;
}

/**
 * The few browser globals the client reads, typed here so the client compiles in projects without
 * the DOM `lib` (Node-only code) and runs where they are absent.
 */
interface BrowserEventTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}
export interface BrowserGlobals {
  readonly window?: BrowserEventTarget;
  readonly document?: BrowserEventTarget & { readonly visibilityState?: string };
  readonly navigator?: { readonly onLine?: boolean };
  readonly requestAnimationFrame?: (callback: () => void) => unknown;
}
export const browserGlobals = globalThis as BrowserGlobals;

/** The browser's signals, or null outside a browser (no `window` / `document`). */
export function browserPageSignals(): PageSignals | null {
  const { window, document } = browserGlobals;
  if (window === undefined || document === undefined) return null;
  return {
    subscribe(onWake) {
      const onVisibility = () => {
        if (document.visibilityState === "visible") onWake();
      };
      window.addEventListener("online", onWake);
      document.addEventListener("visibilitychange", onVisibility);
      return () => {
        window.removeEventListener("online", onWake);
        document.removeEventListener("visibilitychange", onVisibility);
      };
    },
    isOnline: () => browserGlobals.navigator?.onLine !== false,
  };
}
