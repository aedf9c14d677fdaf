import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { closeServer } from "../../local/http-server.js";
import { LOCAL_DEV_SECRET, LocalStackError, PortInUseError, startLocalStack } from "../../local/index.js";
import { openSubscriber, startTestStack } from "../helpers/local-stack.js";

const freePorts = { webSocket: 0, eventBridge: 0, dynamodb: 0, tokenApi: 0 };

/** Resolves with the HTTP status, or the socket error code when nothing listens. */
function probe(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: "GET", agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    req.end();
  });
}

describe("startLocalStack", () => {
  it("listens on 127.0.0.1 only and reports every endpoint", async () => {
    const stack = await startTestStack();
    try {
      const { endpoints } = stack;
      expect(endpoints.webSocketUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
      expect(endpoints.managementEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/local$/);
      expect(endpoints.eventBridge).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(endpoints.sqs).toBe(endpoints.eventBridge);
      expect(endpoints.dynamodb).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(endpoints.deadLetterQueueUrl).toBe(`${endpoints.sqs}/000000000000/trace-stream-dead-letters`);
      expect(endpoints.emitterFailureQueueUrl).toBe(
        `${endpoints.sqs}/000000000000/trace-stream-emitter-failures`,
      );
      expect(stack).toMatchObject({
        busName: "trace-stream",
        source: "trace-stream",
        tableName: "trace-stream-local",
      });
    } finally {
      await stack.stop();
    }
  });

  it("refuses a host beyond this machine", async () => {
    await expect(startLocalStack({ host: "0.0.0.0", ports: freePorts, quiet: true })).rejects.toThrow(
      LocalStackError,
    );
  });

  it("uses the well-known dev secret unless told otherwise, and refuses a short one", async () => {
    const stack = await startTestStack();
    await stack.stop();
    expect(stack.secret).toBe(LOCAL_DEV_SECRET);
    await expect(startTestStack({ secret: "short" })).rejects.toThrow(/at least 32 characters/);
  });

  it("takes the secret from TRACE_STREAM_JWT_SECRET, and its tokens open connections", async () => {
    const secret = "a-secret-from-the-environment-0123456789";
    process.env.TRACE_STREAM_JWT_SECRET = secret;
    const stack = await startTestStack().finally(() => {
      delete process.env.TRACE_STREAM_JWT_SECRET;
    });
    try {
      expect(stack.secret).toBe(secret);
      const subscriber = await openSubscriber(stack.connectUrl("t-1", await stack.mintToken(["t-1"])));
      await subscriber.close();
    } finally {
      await stack.stop();
    }
  });

  it("stops every server and socket, and stopping twice is harmless", async () => {
    const stack = await startTestStack();
    const subscriber = await openSubscriber(stack.connectUrl("t-2", await stack.mintToken("t-2")));
    const { eventBridge, dynamodb, managementEndpoint } = stack.endpoints;
    expect(await probe(eventBridge)).toBe(200);
    await Promise.all([stack.stop(), stack.stop()]);
    await stack.stop();
    expect((await subscriber.closed()).code).toBe(1001);
    for (const url of [eventBridge, dynamodb, managementEndpoint])
      expect(await probe(url)).toBe("ECONNREFUSED");
  });

  it("fails with PortInUseError naming the service, and releases what it had started", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const dynamo = createServer();
    await new Promise<void>((resolve) => dynamo.listen(0, "127.0.0.1", resolve));
    const dynamoPort = (dynamo.address() as AddressInfo).port;
    await closeServer(dynamo);
    try {
      const failure = await startLocalStack({
        ports: { webSocket: taken, eventBridge: 0, dynamodb: dynamoPort, tokenApi: 0 },
        quiet: true,
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PortInUseError);
      expect(failure).toMatchObject({ service: "WebSocket API", port: taken });
      // DynamoDB had started on its port; it was stopped again.
      expect(await probe(`http://127.0.0.1:${dynamoPort}`)).toBe("ECONNREFUSED");
    } finally {
      await closeServer(blocker);
    }
  });
});
