/**
 * The local stack for the Python suite (python/tests): starts a stack on free ports, prints its
 * endpoints as one JSON line on stdout, then answers JSON-line commands on stdin:
 *
 *   {"id": 1, "cmd": "watch", "traceId": "t-1"}   → {"id": 1, "type": "live"} once subscribed, then
 *       {"type": "event", "traceId", "event"} per event (TraceStreamClient order) and
 *       {"type": "ended" | "failed", "traceId", ...} at the end
 *   {"id": 2, "cmd": "deadLetters"}                → {"id": 2, "type": "deadLetters", "items": [...]}
 *   {"id": 3, "cmd": "storedSeqs", "traceId": "t-1"} → {"id": 3, "type": "storedSeqs", "seqs": [...]}
 *   {"id": 4, "cmd": "outage", "down": true}       → {"id": 4, "type": "outage", "down": true} once the
 *       EventBridge endpoint given as `eventBridgeProxy` refuses connections (false: serves again)
 *
 * It stops the stack and exits when stdin closes, so a pytest session that dies cannot leave it
 * running. Run it with `node --import tsx test/support/python-stack.ts`.
 */
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { TraceStreamClient } from "../../client/index.js";
import { startTestStack, storedSeqsOf } from "../helpers/local-stack.js";
import { startOutageProxy } from "./outage-proxy.js";

const stack = await startTestStack();
const proxy = await startOutageProxy(stack.endpoints.eventBridge);
const clients = new Set<TraceStreamClient>();

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function watch(id: unknown, traceId: string): void {
  const client = new TraceStreamClient({
    url: stack.endpoints.webSocketUrl,
    traceId,
    getToken: () => stack.mintToken(traceId),
    WebSocket,
    pageSignals: null,
  });
  clients.add(client);
  let live = false;
  client.on("event", (event) => send({ type: "event", traceId, event }));
  client.on("state", (state) => {
    if (state.status === "live" && !live) {
      live = true;
      send({ id, type: "live", traceId });
    } else if (state.status === "ended" || state.status === "failed") {
      send({ type: state.status, traceId, state });
      client.disconnect();
      clients.delete(client);
    }
  });
  client.connect();
}

/** Seqs stored for the trace once the deliveries in flight are done. */
async function storedSeqs(traceId: string): Promise<number[]> {
  await stack.deliveriesIdle();
  return storedSeqsOf(stack, traceId);
}

async function handle(line: string): Promise<void> {
  const command = JSON.parse(line) as { id?: unknown; cmd?: unknown; traceId?: unknown; down?: unknown };
  if (command.cmd === "watch" && typeof command.traceId === "string") {
    watch(command.id, command.traceId);
  } else if (command.cmd === "storedSeqs" && typeof command.traceId === "string") {
    send({ id: command.id, type: "storedSeqs", seqs: await storedSeqs(command.traceId) });
  } else if (command.cmd === "outage" && typeof command.down === "boolean") {
    await (command.down ? proxy.down() : proxy.up());
    send({ id: command.id, type: "outage", down: proxy.isDown });
  } else if (command.cmd === "deadLetters") {
    await stack.deliveriesIdle();
    send({ id: command.id, type: "deadLetters", items: stack.deadLetters().map((item) => item.payload) });
  } else {
    send({ id: command.id, type: "error", message: `unknown command: ${line}` });
  }
}

async function stop(): Promise<void> {
  for (const client of clients) client.disconnect();
  await proxy.close();
  await stack.stop();
  process.exit(0);
}

const input = createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "") return;
  handle(line).catch((error: unknown) => send({ type: "error", message: String(error) }));
});
input.on("close", () => void stop());
process.on("SIGTERM", () => void stop());

send({
  type: "ready",
  eventBridge: stack.endpoints.eventBridge,
  eventBridgeProxy: proxy.url,
  webSocketUrl: stack.endpoints.webSocketUrl,
  busName: stack.busName,
  source: stack.source,
  region: stack.region,
});
