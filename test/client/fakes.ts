import WebSocket from "ws";
import type { PageSignals, WebSocketLike } from "../../client/subscriber-socket.js";

/** Page signals a test fires by hand (`wake()` stands for `online` or the tab becoming visible). */
export class ManualPageSignals implements PageSignals {
  online = true;
  readonly #listeners = new Set<() => void>();

  subscribe(onWake: () => void): () => void {
    this.#listeners.add(onWake);
    return () => this.#listeners.delete(onWake);
  }

  isOnline(): boolean {
    return this.online;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  wake(): void {
    for (const listener of this.#listeners) listener();
  }
}

/**
 * A real `ws` socket behind the browser's API only: like a browser, it reports a refused handshake
 * as an error and a bare 1006 close, without the HTTP status.
 */
export class BrowserLikeWebSocket implements WebSocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly #socket: WebSocket;

  constructor(url: string) {
    this.#socket = new WebSocket(url);
    this.#socket.onopen = (event) => this.onopen?.(event);
    this.#socket.onmessage = (event) => this.onmessage?.({ data: event.data });
    this.#socket.onclose = (event) => this.onclose?.({ code: event.code, reason: event.reason });
    this.#socket.onerror = (event) => this.onerror?.(event);
  }

  get readyState(): number {
    return this.#socket.readyState;
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }
}

/** Timers that fire only when the test says so, picked by their delay; a clock that moves by hand. */
export class ManualTimers {
  time = 0;
  readonly #pending = new Map<number, { callback: () => void; ms: number }>();
  readonly #watchers = new Set<() => void>();
  #nextHandle = 1;

  setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.#nextHandle++;
    this.#pending.set(handle, { callback, ms });
    this.#changed();
    return handle;
  };

  clearTimeout = (handle: unknown): void => {
    if (typeof handle === "number" && this.#pending.delete(handle)) this.#changed();
  };

  now = (): number => this.time;

  /** How many timers with this delay are pending. */
  pending(ms: number): number {
    return [...this.#pending.values()].filter((timer) => timer.ms === ms).length;
  }

  /** Fires every pending timer with this delay; returns how many fired. */
  fire(ms: number): number {
    const due = [...this.#pending].filter(([, timer]) => timer.ms === ms);
    for (const [handle] of due) this.#pending.delete(handle);
    for (const [, timer] of due) timer.callback();
    if (due.length > 0) this.#changed();
    return due.length;
  }

  /** Resolves once `predicate` holds (checked now and whenever a timer is set, cleared or fired). */
  until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.#watchers.delete(check);
        resolve();
      };
      this.#watchers.add(check);
      check();
    });
  }

  #changed(): void {
    for (const watcher of [...this.#watchers]) watcher();
  }
}
