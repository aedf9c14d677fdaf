import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A configuration or environment problem the local stack reports as one clear sentence. */
export class LocalStackError extends Error {
  override readonly name: string = "LocalStackError";
}

/** Another process (or another local stack) already listens on the port a service wants. */
export class PortInUseError extends LocalStackError {
  override readonly name = "PortInUseError";
  readonly service: string;
  readonly host: string;
  readonly port: number;
  constructor(service: string, host: string, port: number, options?: { cause?: unknown }) {
    super(
      `${service} cannot listen on ${host}:${port}: the port is already in use. ` +
        "Stop the other process or choose another port (0 picks a free one).",
      options,
    );
    this.service = service;
    this.host = host;
    this.port = port;
  }
}

/** True for 127.0.0.0/8, ::1 and localhost: the local stack never listens beyond this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** Listens and resolves with the bound port; EADDRINUSE becomes a `PortInUseError`. */
export function listen(server: Server, service: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") reject(new PortInUseError(service, host, port, { cause: error }));
      else if (error.code === "EACCES") {
        reject(
          new LocalStackError(`${service} may not listen on ${host}:${port} (permission denied)`, {
            cause: error,
          }),
        );
      } else reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/**
 * Closes a server: no new connections, idle keep-alive sockets (SDK clients pool them) closed at
 * once, requests in flight given `graceMs` to answer, then every remaining socket cut.
 */
export function closeServer(server: Server, graceMs = 250): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const sweep = setInterval(() => server.closeIdleConnections(), 10);
    const cut = setTimeout(() => {
      clearInterval(sweep);
      server.closeAllConnections();
    }, graceMs);
    server.close((error) => {
      clearInterval(sweep);
      clearTimeout(cut);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/** `http://host:port`, with IPv6 hosts in brackets. */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
