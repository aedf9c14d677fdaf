import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AuthorizerUnavailableError, makeAuthorizer } from "../../lambdas/authorizer/authorizer.js";
import { createHandler as createAuthorizer } from "../../lambdas/authorizer/handler.js";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { createHandler as createConnect } from "../../lambdas/connect/handler.js";
import { noMetrics } from "../../lambdas/shared/telemetry.js";
import { keys } from "../../lib/table-design.js";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import { startTestTable, type TestTable } from "../helpers/dynalite.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

/**
 * Trace ids and tokens at the door: the authorizer either refuses a bad token with exactly
 * "Unauthorized" (API Gateway answers 401) or returns a policy (a verifier that cannot work at all
 * fails as a server error, never as a policy); connect answers 400 for a malformed trace id and
 * stores nothing; over the wire every attempt gets 101, 400, 401 or 403, never a 5xx.
 */

const SECRET = "fuzz-secret-that-is-at-least-thirty-two-characters";
const METHOD_ARN = "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect";

const base64url = (value: string) => Buffer.from(value).toString("base64url");

/** Anything that might come in the `token` query parameter, JWT-shaped or not. */
const tokens = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc
    .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.base64String({ maxLength: 60 }))
    .map(([header, payload, signature]) =>
      [base64url(JSON.stringify(header)), base64url(JSON.stringify(payload)), signature].join("."),
    ),
  fc.constantFrom(
    "eyJhbGciOiJub25lIn0.eyJ0cmFjZXMiOlsiKiJdfQ.",
    "eyJhbGciOiJIUzI1NiJ9.e30.",
    "...",
    "Bearer x",
    "%",
    "null",
  ),
);

/** Anything that might come in the `traceId` query parameter: valid ids, near misses and junk. */
const traceIds = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:/-]{1,128}$/),
  fc.string({ maxLength: 140 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "x".repeat(129), "a b", "../../etc/passwd", "TRACE#x", "CONN#y", "a%2Fb", "é"),
);

const isUnauthorized = (error: unknown) => error instanceof Error && error.message === "Unauthorized";

describe("the authorizer, with random tokens and trace ids", () => {
  const authorize = createAuthorizer({ JWT_SECRET: SECRET, POWERTOOLS_LOG_LEVEL: "SILENT" });
  const request = (traceId: string, token: string) =>
    ({
      type: "REQUEST",
      methodArn: METHOD_ARN,
      queryStringParameters: { traceId, token },
    }) as unknown as Parameters<typeof authorize>[0];

  it("refuses every token it did not sign with exactly Unauthorized", async () => {
    await fc.assert(
      fc.asyncProperty(traceIds, tokens, async (traceId, token) => {
        await expect(authorize(request(traceId, token))).rejects.toSatisfy(isUnauthorized);
      }),
      { numRuns: 400 },
    );
  });

  it("with a valid token, allows a well-formed granted trace, denies others, and lets connect answer malformed ids", async () => {
    const prefixToken = await mintToken({ secret: SECRET, traces: ["fuzz-*", "exact.trace"] });
    await fc.assert(
      fc.asyncProperty(traceIds, async (traceId) => {
        const policy = await authorize(request(traceId, prefixToken));
        const statement = policy.policyDocument.Statement[0];
        if (!TRACE_ID_PATTERN.test(traceId)) {
          expect(statement.Effect).toBe("Allow");
          expect(policy.context.traceId).toBe("");
        } else if (traceId.startsWith("fuzz-") || traceId === "exact.trace") {
          expect(statement.Effect).toBe("Allow");
          expect(policy.context.traceId).toBe(traceId);
        } else {
          expect(statement.Effect).toBe("Deny");
        }
        expect(statement.Resource).toBe(METHOD_ARN);
      }),
      { numRuns: 400 },
    );
  });

  it("refuses malformed `traces` claims with Unauthorized, whatever the trace", async () => {
    const claims = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.array(fc.oneof(fc.integer(), fc.constant(""), fc.constant(null)), { minLength: 1, maxLength: 3 }),
      fc.constant(Array.from({ length: 1001 }, () => "x")),
    );
    await fc.assert(
      fc.asyncProperty(claims, traceIds, async (traces, traceId) => {
        const { SignJWT } = await import("jose");
        const token = await new SignJWT({ traces })
          .setProtectedHeader({ alg: "HS256" })
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(new TextEncoder().encode(SECRET));
        await expect(authorize(request(traceId, token))).rejects.toSatisfy(isUnauthorized);
      }),
      { numRuns: 100 },
    );
  });

  it("fails closed on a verifier failure other than a bad token: a server error, never a policy", async () => {
    const authorizeWith = makeAuthorizer({
      verify: async () => {
        throw Object.assign(new Error("boom"), { code: "ERR_UNEXPECTED" });
      },
      log: { debug() {}, info() {}, warn() {}, error() {} },
      metrics: noMetrics,
    });
    await expect(
      authorizeWith({ methodArn: METHOD_ARN, queryStringParameters: { traceId: "t", token: "x" } }),
    ).rejects.toBeInstanceOf(AuthorizerUnavailableError);
  });
});

describe("the connect function, with random trace ids", () => {
  let table: TestTable;
  let connect: ReturnType<typeof createConnect>;

  beforeAll(async () => {
    table = await startTestTable("fuzz-connect");
    connect = createConnect(table.env);
  });
  afterAll(() => table?.close());

  it("answers 400 for a malformed trace id and stores nothing; 200 and a subscription otherwise", async () => {
    let connection = 0;
    await fc.assert(
      fc.asyncProperty(traceIds, async (traceId) => {
        const connectionId = `fuzzconn${++connection}=`;
        const result = await connect({
          requestContext: {
            connectionId,
            routeKey: "$connect",
            authorizer: { traceId: TRACE_ID_PATTERN.test(traceId) ? traceId : "", principalId: "fuzz" },
          },
          queryStringParameters: { traceId, token: "checked-by-the-authorizer" },
        });
        const { Items = [] } = await table.client.send(
          new ScanCommand({
            TableName: table.tableName,
            FilterExpression: "pk = :pk OR sk = :sk",
            ExpressionAttributeValues: {
              ":pk": keys.connection(connectionId),
              ":sk": keys.connection(connectionId),
            },
            ConsistentRead: true,
          }),
        );
        if (TRACE_ID_PATTERN.test(traceId)) {
          expect(result.statusCode).toBe(200);
          expect(Items).toHaveLength(2);
        } else {
          expect(result).toMatchObject({ statusCode: 400 });
          expect(String(result.body).length).toBeGreaterThan(0);
          expect(Items).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("connecting over the wire with random trace ids and tokens", () => {
  let stack: TestStack;
  let wildcard: string;

  beforeAll(async () => {
    stack = await startTestStack();
    wildcard = await stack.mintToken("*");
  });
  afterAll(() => stack?.stop());

  function handshake(traceId: string, token: string): Promise<number> {
    const url = `${stack.endpoints.webSocketUrl}?traceId=${encodeURIComponent(traceId)}&token=${encodeURIComponent(token)}`;
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
      socket.once("error", reject);
    });
  }

  it("answers 401 to every token it did not issue, whatever the trace id", async () => {
    await fc.assert(
      fc.asyncProperty(
        traceIds,
        tokens.filter((token) => token.length > 0),
        async (traceId, token) => {
          const status = await handshake(traceId, token);
          // The token is the only identity source: a bad one is 401 whatever the trace id.
          expect(status).toBe(401);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("with a token for every trace, upgrades well-formed ids and answers 400 to malformed ones", async () => {
    await fc.assert(
      fc.asyncProperty(traceIds, async (traceId) => {
        const status = await handshake(traceId, wildcard);
        // An empty trace id passes the authorizer (the token is the identity source); connect answers 400.
        expect(status).toBe(TRACE_ID_PATTERN.test(traceId) ? 101 : 400);
      }),
      { numRuns: 150 },
    );
  });
});
