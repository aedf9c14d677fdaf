import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { RequestAuthorizerEvent, WebSocketEvent } from "../../local/gateway/index.js";
import {
  AWS_ID,
  allowPolicy,
  closed,
  connectUrl,
  denyPolicy,
  type Harness,
  openClient,
  refusalOf,
  startHarness,
} from "./gateway-harness.js";

let harness: Harness | undefined;

async function start(options?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

afterEach(async () => {
  await harness?.gateway.close();
  harness = undefined;
});

describe("local gateway $connect", () => {
  it("runs the authorizer, then connect, then completes the upgrade", async () => {
    const { gateway, lambdas } = await start();
    const client = await openClient(connectUrl(gateway));

    expect(lambdas.calls.map((call) => call.functionName)).toEqual(["authorizer", "connect"]);
    expect(gateway.connections()).toHaveLength(1);
    client.close();
  });

  it("gives the authorizer a REQUEST event with the $connect method ARN, headers and query", async () => {
    const { gateway, lambdas } = await start();
    const client = await openClient(connectUrl(gateway, { traceId: "trace-1", token: "t0k" }));
    const [event] = lambdas.eventsOf<RequestAuthorizerEvent>("authorizer");

    expect(event).toMatchObject({
      type: "REQUEST",
      methodArn: "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect",
      queryStringParameters: { traceId: "trace-1", token: "t0k" },
      multiValueQueryStringParameters: { traceId: ["trace-1"], token: ["t0k"] },
      stageVariables: {},
      requestContext: { routeKey: "$connect", eventType: "CONNECT", stage: "local", apiId: "local" },
    });
    expect(event?.headers).toMatchObject({
      Host: `127.0.0.1:${gateway.port}`,
      Upgrade: "websocket",
      "User-Agent": "gateway-test/1.0",
      "X-Forwarded-For": "127.0.0.1",
      "X-Forwarded-Port": String(gateway.port),
    });
    expect(event?.multiValueHeaders.Upgrade).toEqual(["websocket"]);
    client.close();
  });

  it("gives connect API Gateway's $connect event with the authorizer context as strings", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", (event) =>
      allowPolicy(event, { traceId: "trace-1", sub: "user-1", level: 3, admin: false }),
    );
    const before = Date.now();
    const client = await openClient(connectUrl(gateway));
    const [event] = lambdas.eventsOf<WebSocketEvent>("connect");
    const context = event!.requestContext;

    expect(context).toMatchObject({
      routeKey: "$connect",
      eventType: "CONNECT",
      messageDirection: "IN",
      stage: "local",
      apiId: "local",
      domainName: `127.0.0.1:${gateway.port}`,
      identity: { sourceIp: "127.0.0.1", userAgent: "gateway-test/1.0" },
      authorizer: { traceId: "trace-1", sub: "user-1", level: "3", admin: "false", principalId: "user-1" },
    });
    expect(context.connectionId).toMatch(AWS_ID);
    expect(context.requestId).toMatch(AWS_ID);
    expect(context.extendedRequestId).toBe(context.requestId);
    expect(context.messageId).toBeUndefined();
    expect(context.connectedAt).toBeGreaterThanOrEqual(before);
    expect(context.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof context.authorizer?.integrationLatency).toBe("number");
    expect(event?.queryStringParameters).toEqual({ traceId: "trace-1", token: "t0k" });
    expect(event?.headers?.Host).toBe(`127.0.0.1:${gateway.port}`);
    // Hop-by-hop upgrade headers reach the authorizer only.
    expect(event?.headers?.Upgrade).toBeUndefined();
    expect(event?.isBase64Encoded).toBe(false);
    expect(gateway.connections()[0]).toMatchObject({
      connectionId: context.connectionId,
      sourceIp: "127.0.0.1",
    });
    client.close();
  });

  it.each([
    // The token is the only identity source: a runs-list connection (`?runs=1`) has no trace id.
    ["the token is missing", { traceId: "trace-1" }],
    ["the token is missing from a runs-list connection", { runs: "1" }],
    ["the token is empty", { traceId: "trace-1", token: "" }],
  ])("answers 401 without invoking the authorizer when %s", async (_case, query) => {
    const { gateway, lambdas } = await start();
    const refusal = await refusalOf(connectUrl(gateway, query));

    expect(refusal).toEqual({
      status: 401,
      errorType: "UnauthorizedException",
      body: '{"message":"Unauthorized"}',
    });
    expect(lambdas.calls).toEqual([]);
  });

  it("answers 401 when the authorizer throws Unauthorized, without invoking connect", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", () => {
      throw new Error("Unauthorized");
    });
    const refusal = await refusalOf(connectUrl(gateway));

    expect(refusal.status).toBe(401);
    expect(lambdas.eventsOf("connect")).toEqual([]);
  });

  it("answers 403 when the authorizer returns a Deny policy", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", denyPolicy);
    const refusal = await refusalOf(connectUrl(gateway));

    expect(refusal).toMatchObject({ status: 403, errorType: "AccessDeniedException" });
    expect(lambdas.eventsOf("connect")).toEqual([]);
  });

  it("answers 403 when no statement of the policy covers $connect", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", (event) => {
      const policy = allowPolicy(event, {});
      const statement = {
        ...policy.policyDocument.Statement[0]!,
        Resource: "arn:aws:execute-api:*:*:other/*",
      };
      return { ...policy, policyDocument: { ...policy.policyDocument, Statement: [statement] } };
    });

    expect((await refusalOf(connectUrl(gateway))).status).toBe(403);
  });

  it("accepts an Allow policy whose resource is a wildcard", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", (event) => {
      const policy = allowPolicy(event, {});
      const statement = {
        ...policy.policyDocument.Statement[0]!,
        Resource: "arn:aws:execute-api:*:*:local/*",
      };
      return { ...policy, policyDocument: { ...policy.policyDocument, Statement: [statement] } };
    });
    const client = await openClient(connectUrl(gateway));
    client.close();
  });

  it("answers 500 when the authorizer crashes", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", () => {
      throw new TypeError("cannot read properties of undefined");
    });
    const refusal = await refusalOf(connectUrl(gateway));

    expect(refusal).toMatchObject({ status: 500, errorType: "AuthorizerConfigurationException" });
    expect(lambdas.eventsOf("connect")).toEqual([]);
  });

  it.each([
    ["has no policy document", () => ({ principalId: "user-1" })],
    [
      "puts an object in its context",
      (event: unknown) => ({ ...allowPolicy(event, {}), context: { nested: { a: 1 } } }),
    ],
    ["returns nothing", () => undefined],
  ])("answers 500 when the authorizer %s", async (_case, output) => {
    const { gateway, lambdas } = await start();
    lambdas.set("authorizer", output);

    expect((await refusalOf(connectUrl(gateway))).status).toBe(500);
  });

  it("answers with connect's own status (400) when connect refuses", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("connect", () => ({ statusCode: 400, body: "malformed traceId" }));
    const refusal = await refusalOf(connectUrl(gateway));

    expect(refusal).toMatchObject({ status: 400, errorType: undefined, body: "malformed traceId" });
    expect(gateway.connections()).toEqual([]);
    expect(lambdas.eventsOf("disconnect")).toEqual([]);
  });

  it("answers 502 when connect throws or returns something that is not a proxy result", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("connect", () => {
      throw new Error("table not found");
    });
    expect((await refusalOf(connectUrl(gateway))).status).toBe(502);

    lambdas.set("connect", () => "ok");
    expect((await refusalOf(connectUrl(gateway))).status).toBe(502);
  });

  it("answers 504 when connect outlives the integration timeout", async () => {
    const { gateway, lambdas } = await start({ limits: { integrationTimeoutMs: 50 } });
    lambdas.set(
      "connect",
      () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 500)),
    );

    expect((await refusalOf(connectUrl(gateway))).status).toBe(504);
  });

  it("refuses upgrades outside the stage with 403", async () => {
    const { gateway } = await start();
    const refusal = await refusalOf(connectUrl(gateway).replace("/local?", "/prod?"));

    expect(refusal).toMatchObject({ status: 403, errorType: "ForbiddenException" });
  });

  it("answers a plain HTTP request on the stage with 426 Upgrade Required", async () => {
    const { gateway } = await start();
    const response = await fetch(gateway.managementEndpoint);

    expect(response.status).toBe(426);
  });

  it("invokes $disconnect for a client that left while $connect ran", async () => {
    const { gateway, lambdas } = await start();
    let finishConnect: (result: unknown) => void = () => {};
    lambdas.set("connect", () => new Promise((resolve) => (finishConnect = resolve)));
    const client = new WebSocket(connectUrl(gateway));
    client.on("error", () => {});
    await lambdas.waitFor("connect");
    client.terminate();
    await closed(client);
    finishConnect({ statusCode: 200 });

    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({ eventType: "DISCONNECT", disconnectStatusCode: 1006 });
    expect(event?.requestContext.connectionId).toBe(
      lambdas.eventsOf("connect")[0]?.requestContext.connectionId,
    );
  });

  it("selects the subprotocol the connect integration returns", async () => {
    const { gateway, lambdas } = await start();
    lambdas.set("connect", () => ({ statusCode: 200, headers: { "Sec-WebSocket-Protocol": "trace.v1" } }));
    const client = await openClient(connectUrl(gateway), ["trace.v0", "trace.v1"]);

    expect(client.protocol).toBe("trace.v1");
    client.close();
  });
});
