import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterEach, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { MAX_FRAME_BYTES } from "../../protocol/limits.js";
import {
  AWS_ID,
  closed,
  connectionIdOf,
  connectUrl,
  type Harness,
  nextMessage,
  openClient,
  startHarness,
} from "./gateway-harness.js";

let harness: Harness | undefined;
const clients: WebSocket[] = [];

async function start(options?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

async function open(): Promise<WebSocket> {
  const client = await openClient(connectUrl(harness!.gateway));
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await harness?.gateway.close();
  harness = undefined;
});

describe("local gateway messages", () => {
  it('answers {"action":"ping"} itself, as the mock integration does, invoking nothing', async () => {
    const { lambdas } = await start();
    const client = await open();
    await connectionIdOf(lambdas);
    const before = lambdas.calls.length;
    const reply = nextMessage(client);
    client.send('{"action":"ping"}');
    expect(await reply).toBe('{"type":"pong"}');
    expect(lambdas.calls.length).toBe(before);
  });

  it('routes {"action":"resume"} to resume with a MESSAGE event', async () => {
    const { lambdas } = await start();
    const client = await open();
    const connectionId = await connectionIdOf(lambdas);
    client.send('{"action":"resume","afterSeq":-1}');
    const [event] = await lambdas.waitFor("resume");
    expect(event).toMatchObject({ body: '{"action":"resume","afterSeq":-1}', isBase64Encoded: false });
    expect(event?.requestContext).toMatchObject({
      routeKey: "resume",
      eventType: "MESSAGE",
      messageDirection: "IN",
      connectionId,
      authorizer: { traceId: "trace-1", sub: "user-1", principalId: "user-1" },
    });
    expect(event?.requestContext.messageId).toMatch(AWS_ID);
    // Headers and the query string belong to $connect only.
    expect(event).not.toHaveProperty("headers");
    expect(event).not.toHaveProperty("queryStringParameters");
  });

  it.each([
    ["raw text", "ping"],
    ["JSON without an action", '{"afterSeq":3}'],
    ["JSON with an unknown action", '{"action":"subscribe"}'],
    ["JSON whose action is not a string", '{"action":42}'],
    ["JSON naming a reserved route", '{"action":"$connect"}'],
    ["a JSON array", "[1,2]"],
  ])("routes %s to $default", async (_case, body) => {
    const { lambdas } = await start();
    const client = await open();
    const reply = nextMessage(client);
    client.send(body);
    await reply;

    const [event] = lambdas.eventsOf("default");
    expect(event?.requestContext.routeKey).toBe("$default");
    expect(event?.body).toBe(body);
    expect(lambdas.eventsOf("connect")).toHaveLength(1);
  });

  it('answers raw "ping" with the $default route\'s "pong"', async () => {
    await start();
    const client = await open();
    const reply = nextMessage(client);
    client.send("ping");

    expect(await reply).toBe("pong");
  });

  it("sends nothing back for one-way routes, whatever the integration answers", async () => {
    const { lambdas } = await start();
    lambdas.set("resume", () => ({ statusCode: 200, body: "ignored" }));
    const client = await open();
    const replies: string[] = [];
    client.on("message", (data) => replies.push(String(data)));
    client.send('{"action":"resume","afterSeq":-1}');
    await lambdas.waitFor("resume");
    client.send('{"action":"ping"}');

    await expect.poll(() => replies).toEqual(['{"type":"pong"}']);
  });

  it("sends API Gateway's error message when a route's integration fails", async () => {
    const { lambdas } = await start();
    lambdas.set("default", () => {
      throw new Error("boom");
    });
    const client = await open();
    const connectionId = await connectionIdOf(lambdas);
    const reply = nextMessage(client);
    client.send('{"action":"nope"}');
    const message = await reply;

    expect(message).toMatch(
      /^\{"message": "Internal server error", "connectionId":"[^"]+", "requestId":"[^"]+"\}$/,
    );
    expect(JSON.parse(message)).toEqual({
      message: "Internal server error",
      connectionId,
      requestId: lambdas.eventsOf("default")[0]?.requestContext.requestId,
    });
  });

  it("reports integration failures of one-way routes to the client too", async () => {
    const { lambdas } = await start();
    lambdas.set("resume", () => Promise.reject(new Error("table gone")));
    const client = await open();
    const reply = nextMessage(client);
    client.send('{"action":"resume","afterSeq":-1}');

    expect(JSON.parse(await reply)).toMatchObject({ message: "Internal server error" });
  });

  it("answers a malformed two-way response with the error message", async () => {
    const { lambdas } = await start();
    lambdas.set("default", () => ({ statusCode: "200", body: 42 }));
    const client = await open();
    const reply = nextMessage(client);
    client.send('{"action":"nope"}');

    expect(JSON.parse(await reply)).toMatchObject({ message: "Internal server error" });
  });

  it("answers an integration that outlives the integration timeout with the timeout message", async () => {
    const { lambdas } = await start({ limits: { integrationTimeoutMs: 50 } });
    lambdas.set(
      "default",
      () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 300)),
    );
    const client = await open();
    const reply = nextMessage(client);
    client.send('{"action":"nope"}');

    expect(JSON.parse(await reply)).toMatchObject({ message: "Endpoint request timed out" });
  });
});

describe("local gateway closes and $disconnect", () => {
  it("invokes $disconnect with the client's close code and reason, without headers from $connect", async () => {
    const { gateway, lambdas } = await start();
    const client = await open();
    const connectionId = await connectionIdOf(lambdas);
    client.close(1000, "bye");

    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({
      routeKey: "$disconnect",
      eventType: "DISCONNECT",
      connectionId,
      disconnectStatusCode: 1000,
      disconnectReason: "bye",
      authorizer: { traceId: "trace-1" },
    });
    expect(event).not.toHaveProperty("queryStringParameters");
    expect(event?.headers).toEqual({
      Host: `127.0.0.1:${gateway.port}`,
      "x-api-key": "",
      "X-Forwarded-For": "",
      "x-restapi": "",
    });
    expect(gateway.connections()).toEqual([]);
  });

  it("reports a close frame without a status as 1005", async () => {
    const { lambdas } = await start();
    const client = await open();
    client.close();

    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({
      disconnectStatusCode: 1005,
      disconnectReason: "Client-side close frame status not set",
    });
  });

  it("reports a dropped TCP connection as 1006", async () => {
    const { lambdas } = await start();
    const client = await open();
    client.terminate();

    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext.disconnectStatusCode).toBe(1006);
  });

  it("closes with 1009 a message over 128 KiB, then invokes $disconnect", async () => {
    const { lambdas } = await start();
    const client = await open();
    const closing = closed(client);
    client.send("x".repeat(MAX_FRAME_BYTES + 1));

    expect((await closing).code).toBe(1009);
    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({
      disconnectStatusCode: 1009,
      disconnectReason: "Message too big",
    });
    expect(lambdas.eventsOf("default")).toEqual([]);
  });

  it("routes a message of exactly 128 KiB", async () => {
    const { lambdas } = await start();
    const client = await open();
    const reply = nextMessage(client);
    client.send("x".repeat(MAX_FRAME_BYTES));
    await reply;

    expect(lambdas.eventsOf("default")[0]?.body).toHaveLength(MAX_FRAME_BYTES);
  });

  it("closes with 1003 a client that sends a binary frame", async () => {
    const { lambdas } = await start();
    const client = await open();
    const closing = closed(client);
    client.send(Buffer.from([1, 2, 3]));

    expect((await closing).code).toBe(1003);
    expect((await lambdas.waitFor("disconnect"))[0]?.requestContext.disconnectStatusCode).toBe(1003);
  });

  it("closes an idle connection with 1001 Going away, then invokes $disconnect", async () => {
    const { lambdas } = await start({ limits: { idleTimeoutMs: 150 } });
    const client = await open();

    expect(await closed(client)).toEqual({ code: 1001, reason: "Going away" });
    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: "Going away",
    });
  });

  it("answers pings with pongs, but pings do not keep a connection from idling out", async () => {
    await start({ limits: { idleTimeoutMs: 300 } });
    const client = await open();
    let pongs = 0;
    client.on("pong", () => {
      pongs += 1;
    });
    const timer = setInterval(() => client.ping(), 50);
    const closing = closed(client);

    expect((await closing).code).toBe(1001);
    clearInterval(timer);
    expect(pongs).toBeGreaterThan(0);
  });

  it("keeps a connection open while messages flow in either direction", async () => {
    const { gateway, lambdas } = await start({ limits: { idleTimeoutMs: 600 } });
    const client = await open();
    const connectionId = await connectionIdOf(lambdas);
    const management = new ApiGatewayManagementApiClient({
      endpoint: gateway.managementEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    let closedEarly = false;
    client.once("close", () => {
      closedEarly = true;
    });
    // 1.5 s of traffic every 150 ms: inbound pings and outbound posts take turns.
    for (let round = 0; round < 10; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const reply = nextMessage(client);
      if (round % 2 === 0) client.send('{"action":"ping"}');
      else await management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "tick" }));
      await reply;
    }

    expect(closedEarly).toBe(false);
    management.destroy();
  });

  it("closes a connection at the maximum duration even while it is busy", async () => {
    const { lambdas } = await start({ limits: { maxConnectionMs: 300 } });
    const client = await open();
    const timer = setInterval(() => client.send('{"action":"ping"}'), 50);
    const closing = closed(client);

    expect(await closing).toEqual({ code: 1001, reason: "Going away" });
    clearInterval(timer);
    expect((await lambdas.waitFor("disconnect"))[0]?.requestContext.disconnectStatusCode).toBe(1001);
  });

  it("closes connections but skips $disconnect while the dropDisconnect fault is on", async () => {
    const { gateway, lambdas } = await start({ faults: { dropDisconnect: true } });
    const dropped = await open();
    const droppedId = await connectionIdOf(lambdas, 0);
    const closing = closed(dropped);
    dropped.close(1000);
    await closing;
    gateway.faults.dropDisconnect = false;
    const kept = await open();
    const keptId = await connectionIdOf(lambdas, 1);
    kept.close(1000);
    await lambdas.waitFor("disconnect");
    await gateway.close();

    expect(lambdas.eventsOf("disconnect").map((event) => event.requestContext.connectionId)).toEqual([
      keptId,
    ]);
    expect(droppedId).not.toBe(keptId);
  });

  it("closes every client with 1001 on close(), invoking $disconnect for each", async () => {
    const { gateway, lambdas } = await start();
    const first = await open();
    const second = await open();
    const closes = Promise.all([closed(first), closed(second)]);
    await gateway.close();

    expect(await closes).toEqual([
      { code: 1001, reason: "Going away" },
      { code: 1001, reason: "Going away" },
    ]);
    expect(lambdas.eventsOf("disconnect")).toHaveLength(2);
    expect(gateway.connections()).toEqual([]);
  });
});
