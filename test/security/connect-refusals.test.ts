import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { keys } from "../../lib/table-design.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";
import { type CapturedOutput, captureOutput } from "./captured-output.js";

/** Opens a socket and resolves with the HTTP status of the handshake (101 when it upgraded). */
function handshakeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("open", () => {
      resolve(101);
      socket.close();
    });
    socket.once("error", (error) => {
      // ws reports an error after 'unexpected-response' is handled by terminate(); only the first settles.
      reject(error);
    });
  });
}

const encoder = new TextEncoder();
const base64url = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

/** Signs a token like mintToken does, but with any claims, header and key (HS256). */
function signed(
  secret: string,
  claims: Record<string, unknown>,
  options: { expiresIn?: number; header?: Record<string, unknown> } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", ...options.header } as { alg: string })
    .setSubject("security-test")
    .setIssuedAt(now);
  if (options.expiresIn !== undefined) jwt = jwt.setExpirationTime(now + options.expiresIn);
  return jwt.sign(encoder.encode(secret));
}

describe("connecting with a bad or missing token", () => {
  let stack: TestStack;
  let output: CapturedOutput;
  /** Every refusal below is for this trace, so none of them may leave a subscription behind. */
  const traceId = "security-refused";
  /** Every token presented, to look for in the logs afterwards. */
  const presented: string[] = [];

  beforeAll(async () => {
    output = captureOutput();
    stack = await startTestStack({ logLevel: "debug", quiet: false, logSink: output.sink });
  });
  afterAll(async () => {
    await stack?.stop();
    output?.stop();
  });

  const url = (query: string) => `${stack.endpoints.webSocketUrl}?${query}`;
  const connectWith = (token: string, trace = traceId) => {
    presented.push(token);
    return handshakeStatus(url(`traceId=${encodeURIComponent(trace)}&token=${encodeURIComponent(token)}`));
  };

  /** Subscription items written for the trace (none may be written for a refused connection). */
  async function subscriptionItems(trace: string) {
    const { Items = [] } = await stack.clients.dynamo.send(
      new ScanCommand({
        TableName: stack.tableName,
        FilterExpression: "pk = :pk AND begins_with(sk, :conn)",
        ExpressionAttributeValues: { ":pk": keys.trace(trace), ":conn": keys.connectionPrefix },
        ConsistentRead: true,
      }),
    );
    return Items;
  }

  it("accepts a valid token for the trace (the control case)", async () => {
    expect(await connectWith(await stack.mintToken("security-allowed"), "security-allowed")).toBe(101);
  });

  it("refuses a connection without a token with 401", async () => {
    expect(await handshakeStatus(url(`traceId=${traceId}`))).toBe(401);
    expect(await handshakeStatus(url(`traceId=${traceId}&token=`))).toBe(401);
  });

  it("refuses a token for another trace with 403", async () => {
    expect(await connectWith(await stack.mintToken("another-trace"))).toBe(403);
    expect(await connectWith(await stack.mintToken("security-other-*"))).toBe(403);
  });

  it("refuses an expired token with 401", async () => {
    expect(await connectWith(await signed(stack.secret, { traces: [traceId] }, { expiresIn: -120 }))).toBe(
      401,
    );
  });

  it("refuses a token that lives until 2200, or claims to be issued in the future, with 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const year2200 = 7_258_118_400;
    expect(
      await connectWith(await signed(stack.secret, { traces: [traceId] }, { expiresIn: year2200 - now })),
    ).toBe(401);
    const tomorrow = await new SignJWT({ traces: [traceId] })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(now + 86_400)
      .setExpirationTime(now + 86_400 + 600)
      .sign(encoder.encode(stack.secret));
    expect(await connectWith(tomorrow)).toBe(401);
  });

  it("refuses a token without an expiry with 401", async () => {
    expect(await connectWith(await signed(stack.secret, { traces: [traceId] }))).toBe(401);
  });

  it("refuses a token whose signature was tampered with, or whose claims were, with 401", async () => {
    const token = await stack.mintToken(traceId);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === "A" ? "B" : "A"}${signature.at(-1)}`;
    expect(await connectWith(`${header}.${payload}.${flipped}`)).toBe(401);

    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
    const widened = base64url(JSON.stringify({ ...claims, traces: ["*"] }));
    expect(await connectWith(`${header}.${widened}.${signature}`)).toBe(401);
  });

  it('refuses an unsigned token (alg "none") with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: "none", typ: "JWT" }));
    const payload = base64url(
      JSON.stringify({ traces: [traceId], sub: "mallory", iat: now, exp: now + 600 }),
    );
    expect(await connectWith(`${header}.${payload}.`)).toBe(401);
    expect(await connectWith(`${header}.${payload}`)).toBe(401);
  });

  it("refuses a token signed with another key with 401", async () => {
    const otherKey = "a-different-secret-of-at-least-thirty-two-chars";
    expect(await connectWith(await signed(otherKey, { traces: [traceId] }, { expiresIn: 600 }))).toBe(401);
  });

  it("refuses a token that names another algorithm in its header with 401", async () => {
    const token = await signed(stack.secret, { traces: [traceId] }, { expiresIn: 600 });
    const [, payload, signature] = token.split(".") as [string, string, string];
    for (const alg of ["HS512", "RS256", "ES256"]) {
      const header = base64url(JSON.stringify({ alg, typ: "JWT" }));
      expect(await connectWith(`${header}.${payload}.${signature}`)).toBe(401);
    }
  });

  it("refuses garbage in place of a token with 401", async () => {
    for (const garbage of ["x", "a.b.c", "eyJ.eyJ.", "Bearer abc", "%00", "..", "😀".repeat(50)]) {
      expect(await connectWith(garbage)).toBe(401);
    }
  });

  it("writes no subscription for any refused connection, and no token reaches a log line", async () => {
    await stack.deliveriesIdle();
    expect(await subscriptionItems(traceId)).toEqual([]);
    expect(presented.length).toBeGreaterThan(15);
    expect(output.lineCount()).toBeGreaterThan(0);
    const logs = output.text();
    for (const token of presented.filter((token) => token.length > 20)) {
      expect(logs).not.toContain(token);
      const signature = token.split(".")[2];
      if (signature) expect(logs).not.toContain(signature);
    }
  });
});
