import WebSocket from "ws";

/** A parsed server frame and when it arrived (performance.now()). */
export type FrameListener = (frame: Record<string, unknown>, raw: string, at: number) => void;

/** A real `ws` client socket that hands each text frame to the listener set on it. */
export interface BenchSocket {
  readonly socket: WebSocket;
  listener: FrameListener | undefined;
  close(): Promise<void>;
}

/** Opens one socket; rejects with the HTTP status when the upgrade is refused. */
export function openSocket(url: string): Promise<BenchSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const bench: BenchSocket = {
      socket,
      listener: undefined,
      close: () =>
        new Promise((done) => {
          if (socket.readyState === WebSocket.CLOSED) return done();
          socket.once("close", () => done());
          socket.close();
        }),
    };
    socket.on("message", (data) => {
      const at = performance.now();
      const raw = data.toString();
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        frame = { raw };
      }
      bench.listener?.(frame, raw, at);
    });
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      reject(new Error(`WebSocket upgrade refused with HTTP ${response.statusCode}`));
    });
    socket.once("error", reject);
    socket.once("open", () => {
      socket.off("error", reject);
      socket.on("error", () => undefined);
      resolve(bench);
    });
  });
}

/** Opens `count` sockets, at most `parallel` handshakes at a time. */
export async function openSockets(url: () => Promise<string>, count: number, parallel = 25) {
  const sockets: BenchSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      sockets.push(await openSocket(await url()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return sockets;
}

/**
 * Sends `resume` and resolves when its last `synced` arrives, following a paged replay (`synced`
 * with `more`) as the client does; frames before it go to `onFrame`.
 */
export function resumeAndSync(
  bench: BenchSocket,
  afterSeq: number,
  onFrame?: (frame: Record<string, unknown>, raw: string) => void,
): Promise<{ lastSeq: number; at: number }> {
  return new Promise((resolve) => {
    bench.listener = (frame, raw, at) => {
      onFrame?.(frame, raw);
      if (frame.type === "synced" && frame.more === true) {
        bench.socket.send(JSON.stringify({ action: "resume", afterSeq: Number(frame.last_seq) }));
      } else if (frame.type === "synced") {
        bench.listener = undefined;
        resolve({ lastSeq: Number(frame.last_seq), at });
      }
    };
    bench.socket.send(JSON.stringify({ action: "resume", afterSeq }));
  });
}

export async function closeAll(sockets: readonly BenchSocket[]): Promise<void> {
  await Promise.all(sockets.map((bench) => bench.close()));
}
