import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ConnectionPostError } from "../../lambdas/shared/connection-gateway.js";
import { signedConnectionGateway } from "../../lambdas/shared/signed-connection-gateway.js";

/** What reached the server, as it came off the socket. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const received: Received[] = [];
/** Statuses to answer the next requests with (then 200); `hold` leaves the request unanswered. */
const answers: ({ status: number; errorType?: string } | "hold")[] = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const answer = answers.shift() ?? { status: 200 };
      if (answer === "hold") return;
      response.writeHead(answer.status, {
        "content-type": "application/json",
        ...(answer.errorType ? { "x-amzn-ErrorType": answer.errorType } : {}),
      });
      response.end(answer.status === 200 ? "" : JSON.stringify({ message: "refused" }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  received.length = 0;
  answers.length = 0;
  vi.useRealTimers();
});

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "secret/example",
  sessionToken: "token+1",
};
const client = () =>
  new ApiGatewayManagementApiClient({ region: "eu-west-1", endpoint, credentials, maxAttempts: 1 });
const FIXED = Date.parse("2026-06-01T12:34:56Z");
const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** Headers the SDK adds for its own bookkeeping (user agent, invocation id): not part of the request. */
const BOOKKEEPING = ["user-agent", "x-amz-user-agent", "amz-sdk-invocation-id", "amz-sdk-request"];

describe("the signed @connections post", () => {
  it("sends byte for byte the request PostToConnectionCommand sends, signature included (fixed clock)", async () => {
    const connectionId = "Ab+c/d=e!'()*";
    const data = JSON.stringify({ type: "event", text: "é ✓ \u0000" });

    vi.useFakeTimers({ now: FIXED, toFake: ["Date"] });
    const sdk = client();
    // The SDK signs its bookkeeping headers too; without them it signs exactly the request.
    const dropBookkeeping =
      (next: (args: { input: unknown; request: unknown }) => unknown) =>
      (args: { input: unknown; request: unknown }) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        for (const name of BOOKKEEPING) delete headers[name];
        return next(args);
      };
    sdk.middlewareStack.addRelativeTo(
      dropBookkeeping as Parameters<typeof sdk.middlewareStack.addRelativeTo>[0],
      { relation: "before", toMiddleware: "httpSigningMiddleware", name: "dropBookkeeping" },
    );
    await sdk.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(data) }),
    );
    const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 1, now: () => FIXED });
    expect(await gateway.post(connectionId, data)).toBe("sent");

    const [fromSdk, fromGateway] = received as [Received, Received];
    const significant = ({ method, url, headers, body }: Received) => ({
      method,
      url,
      body: body.toString("hex"),
      headers: Object.fromEntries(
        Object.entries(headers).filter(([name]) => name !== "connection" && !BOOKKEEPING.includes(name)),
      ),
    });
    expect(significant(fromGateway)).toEqual(significant(fromSdk));
    expect(fromGateway.url).toBe("/prod/@connections/Ab%2Bc%2Fd%3De%21%27%28%29%2A");
    expect(fromGateway.headers).toMatchObject({
      "x-amz-date": "20260601T123456Z",
      "x-amz-security-token": "token+1",
      "content-type": "application/octet-stream",
    });
    expect(fromGateway.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260601\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(fromGateway.body.toString()).toBe(data);
  });

  it("keeps the connection alive across posts", async () => {
    const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 2 });
    for (let i = 0; i < 3; i++) expect(await gateway.post(`c${i}`, "{}")).toBe("sent");
    expect(received.map((request) => request.headers.connection)).toEqual([
      "keep-alive",
      "keep-alive",
      "keep-alive",
    ]);
  });

  it("answers 'gone' for 410 without retrying", async () => {
    answers.push({ status: 410, errorType: "GoneException" });
    const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 1, retry: fast });
    expect(await gateway.post("c", "{}")).toBe("gone");
    expect(received).toHaveLength(1);
  });

  it("backs off and retries 429 and 5xx until the post goes through", async () => {
    answers.push({ status: 429, errorType: "LimitExceededException" }, { status: 503 });
    const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 1, retry: fast });
    expect(await gateway.post("c", "{}")).toBe("sent");
    expect(received).toHaveLength(3);
  });

  it("gives up on throttling after the attempts run out with a throttled ConnectionPostError", async () => {
    answers.push({ status: 429 }, { status: 429 }, { status: 429 });
    const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 1, retry: fast });
    const error = await gateway.post("c", "{}").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionPostError);
    expect((error as ConnectionPostError).throttled).toBe(true);
    expect(received).toHaveLength(3);
  });

  it("does not retry 413 Payload Too Large or 403", async () => {
    for (const status of [413, 403]) {
      received.length = 0;
      answers.push({ status, errorType: status === 413 ? "PayloadTooLargeException" : "ForbiddenException" });
      const gateway = signedConnectionGateway({ endpoint, client: client(), sockets: 1, retry: fast });
      const error = await gateway.post("c", "{}").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionPostError);
      expect((error as ConnectionPostError).cause).toMatchObject({ statusCode: status });
      expect(received).toHaveLength(1);
    }
  });

  it("sends nothing once its execution environment's signal has aborted", async () => {
    const stop = new AbortController();
    const gateway = signedConnectionGateway({
      endpoint,
      client: client(),
      sockets: 1,
      retry: fast,
      signal: stop.signal,
    });
    stop.abort(new Error("timed out"));
    await expect(gateway.post("c", "{}")).rejects.toThrow("timed out");
    expect(received).toHaveLength(0);
  });

  it("cuts a post in flight when the signal aborts, and does not send it again", async () => {
    answers.push("hold");
    const stop = new AbortController();
    const gateway = signedConnectionGateway({
      endpoint,
      client: client(),
      sockets: 1,
      retry: fast,
      signal: stop.signal,
    });
    const posting = gateway.post("c", "{}");
    while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort(new Error("timed out"));
    await expect(posting).rejects.toThrow("timed out");
    expect(received).toHaveLength(1);
  });
});
