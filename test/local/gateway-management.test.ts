import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GetConnectionCommand,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterEach, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { MAX_FRAME_BYTES } from "../../protocol/limits.js";
import {
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
const sdkClients: ApiGatewayManagementApiClient[] = [];

/** The official SDK client, pointed at the gateway by changing only the endpoint. */
function managementClient(endpoint: string, maxAttempts?: number): ApiGatewayManagementApiClient {
  const client = new ApiGatewayManagementApiClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  sdkClients.push(client);
  return client;
}

async function startWithClient(
  options?: Parameters<typeof startHarness>[0],
): Promise<Harness & { client: WebSocket; connectionId: string }> {
  harness = await startHarness(options);
  const client = await openClient(connectUrl(harness.gateway));
  clients.push(client);
  return { ...harness, client, connectionId: await connectionIdOf(harness.lambdas) };
}

/** What the call rejected with (fails the test if it resolved). */
async function rejectionOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  throw new Error("The call succeeded");
}

afterEach(async () => {
  for (const client of sdkClients.splice(0)) client.destroy();
  for (const client of clients.splice(0)) client.terminate();
  await harness?.gateway.close();
  harness = undefined;
});

describe("local @connections API with the AWS SDK", () => {
  it("PostToConnection delivers the data to the client as a text frame", async () => {
    const { gateway, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    const received = new Promise<{ text: string; isBinary: boolean }>((resolve) =>
      client.once("message", (data, isBinary) => resolve({ text: String(data), isBinary })),
    );
    const output = await sdk.send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: '{"type":"synced","trace_id":"trace-1","last_seq":-1}',
      }),
    );

    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(await received).toEqual({
      text: '{"type":"synced","trace_id":"trace-1","last_seq":-1}',
      isBinary: false,
    });
  });

  it("PostToConnection accepts bytes and exactly 128 KiB", async () => {
    const { gateway, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    const received = nextMessage(client);
    await sdk.send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: new Uint8Array(MAX_FRAME_BYTES).fill(0x61),
      }),
    );

    expect(await received).toHaveLength(MAX_FRAME_BYTES);
  });

  it("GetConnection describes the connection with ConnectedAt, LastActiveAt and Identity", async () => {
    const { gateway, lambdas, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    const reply = nextMessage(client);
    client.send('{"action":"ping"}');
    await reply;
    const output = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    const connectedAt = lambdas.eventsOf("connect")[0]?.requestContext.connectedAt;
    expect(output.ConnectedAt).toEqual(new Date(connectedAt ?? 0));
    expect(output.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(connectedAt ?? 0);
    expect(output.Identity).toEqual({ SourceIp: "127.0.0.1", UserAgent: "gateway-test/1.0" });
  });

  it("DeleteConnection answers 204, closes the socket and invokes $disconnect; the id is then Gone", async () => {
    const { gateway, lambdas, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    const closing = closed(client);
    const output = await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    expect(output.$metadata.httpStatusCode).toBe(204);
    expect(await closing).toEqual({ code: 1001, reason: "Going away" });
    const [event] = await lambdas.waitFor("disconnect");
    expect(event?.requestContext).toMatchObject({ connectionId, disconnectStatusCode: 1001 });
    const error = await rejectionOf(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "late" })),
    );
    expect(error).toBeInstanceOf(GoneException);
  });

  it.each([
    [
      "PostToConnection",
      (sdk: ApiGatewayManagementApiClient, id: string) =>
        sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: "hello" })),
    ],
    [
      "GetConnection",
      (sdk: ApiGatewayManagementApiClient, id: string) =>
        sdk.send(new GetConnectionCommand({ ConnectionId: id })),
    ],
    [
      "DeleteConnection",
      (sdk: ApiGatewayManagementApiClient, id: string) =>
        sdk.send(new DeleteConnectionCommand({ ConnectionId: id })),
    ],
  ])("%s on an unknown connection id throws GoneException (410)", async (_name, call) => {
    const { gateway } = await startWithClient();
    const error = await rejectionOf(call(managementClient(gateway.managementEndpoint), "L0SM9cOFvHcCIhw="));

    expect(error).toBeInstanceOf(GoneException);
    expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
  });

  it("PostToConnection after the client closed throws GoneException", async () => {
    const { gateway, lambdas, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    client.close(1000);
    await lambdas.waitFor("disconnect");
    const error = await rejectionOf(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "x" })),
    );

    expect(error).toBeInstanceOf(GoneException);
  });

  it("PostToConnection over 128 KiB throws PayloadTooLargeException (413) and sends nothing", async () => {
    const { gateway, client, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint);
    const received: string[] = [];
    client.on("message", (data) => received.push(String(data)));
    const error = await rejectionOf(
      sdk.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: "x".repeat(MAX_FRAME_BYTES + 1) }),
      ),
    );

    expect(error).toBeInstanceOf(PayloadTooLargeException);
    expect((error as PayloadTooLargeException).$metadata.httpStatusCode).toBe(413);
    expect((error as PayloadTooLargeException).message).toBe("Message too long");
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "after" }));
    await expect.poll(() => received).toEqual(["after"]);
  });

  it("throttlePosts answers the next N posts with LimitExceededException (429), then recovers", async () => {
    const { gateway, client, connectionId } = await startWithClient({ faults: { throttlePosts: 1 } });
    const sdk = managementClient(gateway.managementEndpoint, 1);
    const error = await rejectionOf(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "a" })),
    );

    expect(error).toBeInstanceOf(LimitExceededException);
    expect((error as LimitExceededException).$metadata.httpStatusCode).toBe(429);
    expect(gateway.faults.throttlePosts).toBe(0);
    const received = nextMessage(client);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "b" }));
    expect(await received).toBe("b");
  });

  it("the SDK's default retries absorb a single throttled attempt, as on AWS", async () => {
    const { gateway, client, connectionId } = await startWithClient({ faults: { throttlePosts: 1 } });
    const sdk = managementClient(gateway.managementEndpoint);
    const received = nextMessage(client);
    const output = await sdk.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: "retried" }),
    );

    expect(output.$metadata.attempts).toBe(2);
    expect(await received).toBe("retried");
  });

  it("throttleUntil throttles every post until the given time", async () => {
    const { gateway, client, connectionId } = await startWithClient();
    gateway.faults.throttleUntil = Date.now() + 60_000;
    const sdk = managementClient(gateway.managementEndpoint, 1);
    for (const data of ["a", "b"]) {
      const error = await rejectionOf(
        sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
      );
      expect(error).toBeInstanceOf(LimitExceededException);
    }
    gateway.faults.throttleUntil = 0;
    const received = nextMessage(client);
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "c" }));
    expect(await received).toBe("c");
  });

  it("throws ForbiddenException for an endpoint on another stage", async () => {
    const { gateway, connectionId } = await startWithClient();
    const sdk = managementClient(gateway.managementEndpoint.replace(/\/local$/, "/prod"));
    const error = await rejectionOf(
      sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "x" })),
    );

    expect(error).toBeInstanceOf(ForbiddenException);
  });
});

describe("local @connections API on the wire", () => {
  it("answers 410 with x-amzn-ErrorType GoneException and an empty body, as AWS does", async () => {
    const { gateway } = await startWithClient();
    const response = await fetch(
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent("L0SM9cOFvHcCIhw=")}`,
      {
        method: "POST",
        headers: {
          Authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api/aws4_request",
        },
        body: "x",
      },
    );

    expect(response.status).toBe(410);
    expect(response.headers.get("x-amzn-errortype")).toBe("GoneException");
    expect(response.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.text()).toBe("");
  });

  it("answers an unsigned request with 403 Missing Authentication Token", async () => {
    const { gateway, connectionId } = await startWithClient();
    const response = await fetch(
      `${gateway.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`,
      {
        method: "POST",
        body: "x",
      },
    );

    expect(response.status).toBe(403);
    expect(response.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    expect(await response.json()).toEqual({ message: "Missing Authentication Token" });
  });

  it.each([
    ["an unsupported method", "PUT", "/@connections/abc%3D"],
    ["a path without a connection id", "GET", "/@connections"],
    ["a path beyond the connection id", "GET", "/@connections/abc%3D/extra"],
  ])("answers %s with 403 ForbiddenException", async (_case, method, path) => {
    const { gateway } = await startWithClient();
    const response = await fetch(`${gateway.managementEndpoint}${path}`, {
      method,
      headers: { Authorization: "AWS4-HMAC-SHA256 Credential=local" },
    });

    expect(response.status).toBe(403);
    expect(response.headers.get("x-amzn-errortype")).toBe("ForbiddenException");
  });
});
