/**
 * A TCP forwarder in front of a real endpoint (the local stack's EventBridge), whose listener a
 * test stops and starts: a real outage as a producer sees one. While it is down, connecting is
 * refused (ECONNREFUSED) and connections already open are reset, exactly as when the endpoint's
 * process is gone; `up()` listens on the same port again.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface OutageProxy {
  /** `http://127.0.0.1:PORT`: the endpoint to give the producer instead of the real one. */
  readonly url: string;
  /** Stops listening and resets every open connection. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  readonly isDown: boolean;
  close(): Promise<void>;
}

export async function startOutageProxy(target: string): Promise<OutageProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  const listen = async () => {
    const next = createServer((client) => {
      track(client);
      const upstream = tcpConnect({ host: hostname, port: Number(targetPort) });
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      next.once("error", reject);
      next.listen(port, "127.0.0.1", () => {
        next.off("error", reject);
        resolve();
      });
    });
    const address = next.address();
    if (address === null || typeof address === "string") throw new Error("the proxy has no port");
    port = address.port;
    server = next;
  };

  const stop = async () => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };

  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    down: stop,
    up: async () => {
      if (server === undefined) await listen();
    },
    get isDown() {
      return server === undefined;
    },
    close: stop,
  };
}
