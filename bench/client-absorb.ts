/**
 * How fast the subscriber client absorbs a long stream: `events` frames of a trace fed to a
 * `TraceStreamClient` through an in-process socket, with `getSnapshot()` read after every
 * notification, as React's `useSyncExternalStore` reads it. No network: this is the client's own
 * cost per event at a given window size (`maxEvents`).
 */
import type { WebSocketLike } from "../client/subscriber-socket.js";
import { TraceStreamClient } from "../client/trace-stream-client.js";
import { benchEvent } from "./bench-events.js";

export interface ClientAbsorbOptions {
  readonly events: number;
  readonly maxEvents: number;
  /** Events per `events` frame (the server's live frames carry one; replay pages carry many). */
  readonly eventsPerFrame: number;
}

export interface ClientAbsorbResult extends ClientAbsorbOptions {
  readonly eventsPerSecond: number;
  readonly snapshotsRead: number;
  readonly held: number;
}

/** A socket whose server is this function: it answers `resume` with `synced` and nothing else. */
class InProcessSocket implements WebSocketLike {
  static last: InProcessSocket | undefined;
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  readonly url: string;

  constructor(url: string) {
    this.url = url;
    InProcessSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    const message = JSON.parse(data) as { action?: string; afterSeq?: number };
    if (message.action === "resume")
      queueMicrotask(() =>
        this.deliver({ type: "synced", trace_id: "bench-client", last_seq: message.afterSeq }),
      );
  }

  deliver(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  close(): void {
    this.readyState = 3;
  }
}

export async function runClientAbsorb(options: ClientAbsorbOptions): Promise<ClientAbsorbResult> {
  const traceId = "bench-client";
  const client = new TraceStreamClient({
    url: "ws://in-process",
    traceId,
    getToken: () => "token",
    WebSocket: InProcessSocket,
    pageSignals: null,
    maxEvents: options.maxEvents,
  });
  let snapshotsRead = 0;
  let held = 0;
  client.subscribe(() => {
    held = client.getSnapshot().events.length;
    snapshotsRead++;
  });
  client.connect();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const socket = InProcessSocket.last;
  if (!socket) throw new Error("the client opened no socket");
  const frames: string[] = [];
  for (let seq = 0; seq < options.events; seq += options.eventsPerFrame) {
    const events = [];
    for (let i = seq; i < Math.min(options.events, seq + options.eventsPerFrame); i++)
      events.push(benchEvent(traceId, i));
    // One event: an `event` frame, as the emitter posts live; more: an `events` page, as resume does.
    frames.push(
      events.length === 1
        ? JSON.stringify({ type: "event", ...events[0] })
        : JSON.stringify({ type: "events", trace_id: traceId, events }),
    );
  }
  const started = performance.now();
  for (const data of frames) socket.onmessage?.({ data });
  const seconds = (performance.now() - started) / 1000;
  client.disconnect();
  return { ...options, eventsPerSecond: options.events / seconds, snapshotsRead, held };
}
