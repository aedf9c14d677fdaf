import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import type { TraceStreamClient, TraceStreamSnapshot } from "../../client/trace-stream-client.js";
import { eventFrame, replayFrames, syncedFrame } from "../../protocol/frames.js";
import type { TraceEvent } from "../../protocol/trace-event.js";

/** A queue whose `next()` waits for the next pushed item. */
class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  }

  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  get size(): number {
    return this.#items.length;
  }
}

/** One accepted connection of the scripted server: read what the client sent, send frames. */
export class ScriptedConnection {
  readonly url: URL;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #socket: WebSocket;
  readonly #messages = new AsyncQueue<string>();

  constructor(socket: WebSocket, request: IncomingMessage) {
    this.#socket = socket;
    this.url = new URL(request.url ?? "/", "ws://127.0.0.1");
    socket.on("message", (data: RawData) => this.#messages.push(data.toString()));
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  get token(): string | null {
    return this.url.searchParams.get("token");
  }

  get isOpen(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** The next text the client sent, parsed as JSON when it is JSON. */
  async nextMessage(): Promise<unknown> {
    const text = await this.#messages.next();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** Waits for the next `resume` and returns its `afterSeq` (pings in between are skipped). */
  async nextResume(): Promise<number> {
    for (;;) {
      const message = (await this.nextMessage()) as { action?: string; afterSeq?: number };
      if (message.action === "resume") return message.afterSeq ?? Number.NaN;
    }
  }

  send(frame: string | Buffer): void {
    this.#socket.send(frame);
  }

  sendEvents(...events: TraceEvent[]): void {
    for (const event of events) this.send(eventFrame(event));
  }

  /** Answers a resume: replay batches of `events`, then `synced` with `lastSeq`. */
  replay(traceId: string, events: readonly TraceEvent[], lastSeq = events.at(-1)?.seq ?? -1): void {
    for (const frame of replayFrames(traceId, events)) this.send(frame);
    this.send(syncedFrame(traceId, lastSeq));
  }

  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }

  /** Drops the TCP connection without a close frame: the client sees 1006. */
  terminate(): void {
    this.#socket.terminate();
  }
}

/**
 * A real WebSocket server on a free port that does only what the test scripts: it accepts or refuses
 * handshakes with a chosen HTTP status and hands each connection to the test.
 */
export class ScriptedServer {
  readonly connections: ScriptedConnection[] = [];
  /** Handshakes seen, accepted or refused. */
  handshakes = 0;
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #accepted = new AsyncQueue<ScriptedConnection>();
  readonly #refusals: number[] = [];
  #serve: ((connection: ScriptedConnection) => void) | null = null;
  #url = "";

  private constructor() {
    this.#server = createServer((_request, response) => response.writeHead(426).end());
    this.#server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
  }

  static async start(): Promise<ScriptedServer> {
    const server = new ScriptedServer();
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    const { port } = server.#server.address() as AddressInfo;
    server.#url = `ws://127.0.0.1:${port}/local`;
    return server;
  }

  get url(): string {
    return this.#url;
  }

  /** Connections whose socket is open right now. */
  get openCount(): number {
    return this.connections.filter((connection) => connection.isOpen).length;
  }

  /** Answers the next handshakes with these HTTP statuses instead of upgrading. */
  refuseNext(...statuses: number[]): void {
    this.#refusals.push(...statuses);
  }

  /** Hands every connection accepted from now on to `serve` (instead of `nextConnection()`). */
  serveEach(serve: (connection: ScriptedConnection) => void): void {
    this.#serve = serve;
  }

  /** The next accepted connection. */
  nextConnection(): Promise<ScriptedConnection> {
    return this.#accepted.next();
  }

  get pendingConnections(): number {
    return this.#accepted.size;
  }

  async stop(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.handshakes++;
    const status = this.#refusals.shift();
    if (status !== undefined) {
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new ScriptedConnection(ws, request);
      this.connections.push(connection);
      if (this.#serve) this.#serve(connection);
      else this.#accepted.push(connection);
    });
  }
}

/** Resolves with the first snapshot that satisfies `predicate` (checked now and on every change). */
export function until(
  client: TraceStreamClient,
  predicate: (snapshot: TraceStreamSnapshot) => boolean,
): Promise<TraceStreamSnapshot> {
  return new Promise((resolve) => {
    let unsubscribe = () => {};
    const check = () => {
      const snapshot = client.getSnapshot();
      if (!predicate(snapshot)) return;
      unsubscribe();
      resolve(snapshot);
    };
    unsubscribe = client.subscribe(check);
    check();
  });
}

/** Resolves when the client reaches `status`. */
export function untilStatus(
  client: TraceStreamClient,
  status: TraceStreamSnapshot["status"],
): Promise<TraceStreamSnapshot> {
  return until(client, (snapshot) => snapshot.status === status);
}

/** Records every state the client enters. */
export function recordStates(client: TraceStreamClient): string[] {
  const states: string[] = [];
  client.on("state", (state) => {
    states.push("code" in state ? `${state.status}:${state.code}` : state.status);
  });
  return states;
}
