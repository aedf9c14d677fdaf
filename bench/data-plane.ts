/**
 * The data plane against its floors, in one run: @connections posts/s through the SDK's
 * PostToConnectionCommand against the signed keep-alive post the Lambdas use (same sockets, same
 * emulator), and the two floors of this host: a plain `ws` broadcast (no HTTP at all) and a
 * keep-alive HTTP POST relayed into `ws` per delivery (what any @connections design pays at least).
 * Every measurement's receiving sockets live in a worker thread (`SubscriberPool`), floors included,
 * so each rate is what the server side delivers with the clients' parsing on the other core.
 */
import { once } from "node:events";
import { createServer, Agent as HttpAgent, request } from "node:http";
import type { AddressInfo } from "node:net";
import type WebSocket from "ws";
import { WebSocketServer } from "ws";
import { managementClient } from "../lambdas/shared/aws-clients.js";
import { type ConnectionGateway, managementApiGateway } from "../lambdas/shared/connection-gateway.js";
import { signedConnectionGateway } from "../lambdas/shared/signed-connection-gateway.js";
import type { BenchStack } from "./bench-stack.js";
import { until } from "./stats.js";
import { SubscriberPool } from "./subscriber-pool.js";

export interface DataPlaneOptions {
  /** Sockets posted to (round robin). */
  readonly sockets: number;
  /** Posts per measurement. */
  readonly posts: number;
  /** Posts in flight (the emitter's EMITTER_CONCURRENCY). */
  readonly concurrency: number;
  /** How long the POST relay floor is held. */
  readonly relayFloorSeconds: number;
}

export interface DataPlaneResult {
  readonly posts: number;
  readonly sockets: number;
  readonly concurrency: number;
  /** Deliveries per second, each counted when its socket received the frame. */
  readonly sdkPostsPerSecond: number;
  readonly signedPostsPerSecond: number;
  /** signed / SDK */
  readonly signedOverSdk: number;
  /** Plain `ws` broadcast from the server side: the most this host delivers. */
  readonly wsBroadcastPerSecond: number;
  /** One keep-alive HTTP POST per delivery, relayed into `ws`: the floor of any @connections post. */
  readonly postRelayPerSecond: number;
  /** How long that floor was held. */
  readonly relayFloorSeconds?: number;
}

/** Posts `total` frames through `gateway`, `concurrency` at a time; resolves once all have arrived. */
async function postRate(
  gateway: ConnectionGateway,
  connectionIds: readonly string[],
  pool: SubscriberPool,
  total: number,
  concurrency: number,
): Promise<number> {
  const before = await pool.frames();
  const frame = JSON.stringify({ type: "bench", payload: "x".repeat(300) });
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const id = connectionIds[next++ % connectionIds.length] as string;
      await gateway.post(id, frame);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.waitForFrames(before + total, 120_000);
  const seconds = (performance.now() - started) / 1000;
  return total / seconds;
}

/** Connection ids of the open sockets (this scenario's are the only ones open while it runs). */
function connectionIds(bench: BenchStack): string[] {
  return bench.stack.connections().map((connection) => connection.connectionId);
}

async function wsBroadcastFloor(clients: number, messages: number): Promise<number> {
  const server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await once(server, "listening");
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sockets = new SubscriberPool();
  await sockets.open(Array.from({ length: clients }, () => url));
  const frame = JSON.stringify({ type: "bench", payload: "x".repeat(300) });
  const total = Math.floor(messages / clients) * clients;
  const started = performance.now();
  for (let i = 0; i < total / clients; i++) for (const peer of server.clients) peer.send(frame);
  await sockets.waitForFrames(total, 120_000);
  const rate = total / ((performance.now() - started) / 1000);
  await sockets.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return rate;
}

/**
 * Keep-alive POSTs relayed into `ws`, held for `seconds` (not a burst of a fixed count): the
 * sustained row is compared with this rate, so both are held long enough for garbage collection
 * and socket buffers to reach their steady state.
 */
export async function postRelayFloor(clients: number, seconds: number, concurrency: number): Promise<number> {
  const wss = new WebSocketServer({ noServer: true });
  const peers: WebSocket[] = [];
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const index = Number(req.url?.slice(1));
      peers[index]?.send(Buffer.concat(chunks).toString());
      res.writeHead(200);
      res.end();
    });
  });
  http.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (peer) => peers.push(peer)));
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const port = (http.address() as AddressInfo).port;
  const sockets = new SubscriberPool();
  await sockets.open(Array.from({ length: clients }, () => `ws://127.0.0.1:${port}`));
  await until(() => peers.length >= clients, "every relay peer");
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const body = JSON.stringify({ type: "bench", payload: "x".repeat(300) });
  const post = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          agent,
          port,
          host: "127.0.0.1",
          method: "POST",
          path: `/${index}`,
          headers: { "content-length": body.length },
        },
        (res) => {
          res.resume();
          res.once("end", resolve);
        },
      );
      req.once("error", reject);
      req.end(body);
    });
  let posts = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) await post(posts++ % clients);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await sockets.waitForFrames(posts, 120_000);
  const rate = posts / ((performance.now() - started) / 1000);
  agent.destroy();
  await sockets.close();
  wss.close();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  return rate;
}

export async function runDataPlane(
  bench: BenchStack,
  options: DataPlaneOptions,
  progress: (line: string) => void,
): Promise<DataPlaneResult> {
  const traceId = "bench-data-plane";
  // The subscribers read their frames on a worker thread, off the event loop of the stack measured.
  const sockets = new SubscriberPool();
  try {
    await sockets.open(await Promise.all(Array.from({ length: options.sockets }, () => bench.url(traceId))));
    const ids = connectionIds(bench);
    if (ids.length !== options.sockets)
      throw new Error(`expected ${options.sockets} open connections, found ${ids.length}`);
    const endpoint = bench.stack.endpoints.managementEndpoint;
    const sdk = managementApiGateway(managementClient(endpoint, bench.env));
    const signed = signedConnectionGateway({
      endpoint,
      client: managementClient(endpoint, bench.env),
      sockets: options.concurrency,
    });
    // Warm both (connections, credentials), then alternate so neither gets the quieter moment.
    await postRate(sdk, ids, sockets, options.sockets, options.concurrency);
    await postRate(signed, ids, sockets, options.sockets, options.concurrency);
    const sdkRates: number[] = [];
    const signedRates: number[] = [];
    for (let round = 0; round < 2; round++) {
      sdkRates.push(await postRate(sdk, ids, sockets, options.posts / 2, options.concurrency));
      signedRates.push(await postRate(signed, ids, sockets, options.posts / 2, options.concurrency));
    }
    const sdkPostsPerSecond = harmonic(sdkRates);
    const signedPostsPerSecond = harmonic(signedRates);
    progress(`posts/s: SDK ${Math.round(sdkPostsPerSecond)}, signed ${Math.round(signedPostsPerSecond)}`);
    const wsBroadcastPerSecond = await wsBroadcastFloor(options.sockets, options.posts * 4);
    const postRelayPerSecond = await postRelayFloor(
      options.sockets,
      options.relayFloorSeconds,
      options.concurrency,
    );
    progress(
      `floors: ws broadcast ${Math.round(wsBroadcastPerSecond)}/s, POST relay ${Math.round(postRelayPerSecond)}/s`,
    );
    return {
      posts: options.posts,
      sockets: options.sockets,
      concurrency: options.concurrency,
      sdkPostsPerSecond,
      signedPostsPerSecond,
      signedOverSdk: signedPostsPerSecond / sdkPostsPerSecond,
      wsBroadcastPerSecond,
      postRelayPerSecond,
      relayFloorSeconds: options.relayFloorSeconds,
    };
  } finally {
    await sockets.close();
  }
}

/** The rate of all the rounds together (equal post counts). */
function harmonic(rates: readonly number[]): number {
  return rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
}
