import { afterEach, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { parseGatewayMessage } from "../../protocol/gateway-message.js";
import { connectUrl, type Harness, openClient, refusalOf, startHarness } from "./gateway-harness.js";

/** A throttle that refills too slowly to matter during a test: only the burst is available. */
const burstOnly = (burstLimit: number) => ({ rateLimit: 0.001, burstLimit });

let harness: Harness | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await harness?.gateway.close();
  harness = undefined;
});

async function open(h: Harness): Promise<WebSocket> {
  const client = await openClient(connectUrl(h.gateway));
  clients.push(client);
  return client;
}

/** Sends each body and collects the next `count` messages the client receives. */
function collect(client: WebSocket, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const received: string[] = [];
    const onMessage = (data: Buffer) => {
      received.push(data.toString("utf8"));
      if (received.length === count) {
        client.off("message", onMessage);
        resolve(received);
      }
    };
    client.on("message", onMessage);
  });
}

describe("local gateway: stage throttling", () => {
  it("answers messages over a route's bucket with API Gateway's Too Many Requests, without invoking it", async () => {
    harness = await startHarness({
      throttle: { default: burstOnly(100), routes: { resume: burstOnly(3) } },
    });
    const client = await open(harness);
    // resume is one-way: the three let through answer nothing, the four throttled ones a message.
    const answers = collect(client, 4);
    for (let i = 0; i < 7; i++) client.send('{"action":"resume","afterSeq":-1}');
    const messages = (await answers).map((text) => parseGatewayMessage(text));
    expect(messages.map((message) => message?.message)).toEqual(Array(4).fill("Too Many Requests"));
    expect(messages[0]?.connectionId).toEqual(expect.any(String));
    expect(harness.lambdas.eventsOf("resume")).toHaveLength(3);
  });

  it("gives each route its own bucket: a resume flood leaves ping answered", async () => {
    harness = await startHarness({
      throttle: { default: burstOnly(100), routes: { resume: burstOnly(1) } },
    });
    const client = await open(harness);
    const throttled = collect(client, 4);
    for (let i = 0; i < 5; i++) client.send('{"action":"resume","afterSeq":-1}');
    expect((await throttled).map((text) => parseGatewayMessage(text)?.message)).toEqual(
      Array(4).fill("Too Many Requests"),
    );
    const pong = collect(client, 1);
    client.send('{"action":"ping"}');
    expect(await pong).toEqual(['{"type":"pong"}']);
  });

  it("refuses connects over the $connect bucket with 429 before the authorizer runs", async () => {
    harness = await startHarness({
      throttle: { default: burstOnly(100), routes: { $connect: burstOnly(2) } },
    });
    await open(harness);
    await open(harness);
    const refusal = await refusalOf(connectUrl(harness.gateway));
    expect(refusal).toMatchObject({ status: 429, body: '{"message":"Too Many Requests"}' });
    expect(harness.lambdas.eventsOf("authorizer")).toHaveLength(2);
  });

  it("refills at the rate limit", async () => {
    harness = await startHarness({
      throttle: { default: burstOnly(100), routes: { resume: { rateLimit: 20, burstLimit: 1 } } },
    });
    const client = await open(harness);
    for (let i = 0; i < 3; i++) {
      client.send('{"action":"resume","afterSeq":-1}');
      await harness.lambdas.waitFor("resume", i + 1);
      // 20 per second: a token is back 50 ms later.
      await new Promise((resolve) => setTimeout(resolve, 80));
    }
    expect(harness.lambdas.eventsOf("resume")).toHaveLength(3);
  });

  it("refuses a throttle that is not positive", async () => {
    await expect(
      startHarness({ throttle: { default: { rateLimit: 0, burstLimit: 1 }, routes: {} } }),
    ).rejects.toThrow(/throttle.default.rateLimit must be positive/);
  });
});
