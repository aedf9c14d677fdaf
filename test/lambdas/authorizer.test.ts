import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAuthorizer, traceAllowed, UNAUTHORIZED } from "../../lambdas/authorizer/authorizer.js";
import { createHandler, verifierFromEnv } from "../../lambdas/authorizer/handler.js";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { ConfigError } from "../../lambdas/shared/config.js";
import { recordingLog } from "../support/telemetry.js";

const SECRET = "test-secret-that-is-long-enough-for-hs256";
const METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:api/local/$connect";

function request(query: Record<string, string>) {
  return { type: "REQUEST", methodArn: METHOD_ARN, queryStringParameters: query } as never;
}

const authorize = createHandler({ JWT_SECRET: SECRET, POWERTOOLS_LOG_LEVEL: "SILENT" });

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the authorizer to refuse");
}

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("authorizer (HS256)", () => {
  it("allows a token for the trace, passing the trace and subject as string context", async () => {
    const token = await mintToken({ secret: SECRET, traces: ["run-1"], subject: "alice" });
    const policy = await authorize(request({ traceId: "run-1", token }));
    expect(policy.policyDocument.Statement[0]).toEqual({
      Action: "execute-api:Invoke",
      Effect: "Allow",
      Resource: METHOD_ARN,
    });
    expect(policy.context).toEqual({ traceId: "run-1", sub: "alice" });
    expect(policy.principalId).toBe("alice");
  });

  it("allows trace ids matching a prefix grant ending in *", async () => {
    const token = await mintToken({ secret: SECRET, traces: ["team-a/*"] });
    expect(
      (await authorize(request({ traceId: "team-a/run-9", token }))).policyDocument.Statement[0].Effect,
    ).toBe("Allow");
    expect(
      (await authorize(request({ traceId: "team-b/run-9", token }))).policyDocument.Statement[0].Effect,
    ).toBe("Deny");
  });

  it("denies (403) a valid token for another trace", async () => {
    const token = await mintToken({ secret: SECRET, traces: ["run-1"] });
    const policy = await authorize(request({ traceId: "run-2", token }));
    expect(policy.policyDocument.Statement[0].Effect).toBe("Deny");
  });

  it("lets a malformed trace id through with no trace in context, for connect to answer 400", async () => {
    const token = await mintToken({ secret: SECRET, traces: ["*"] });
    const policy = await authorize(request({ traceId: "bad trace!", token }));
    expect(policy.policyDocument.Statement[0].Effect).toBe("Allow");
    expect(policy.context.traceId).toBe("");
  });

  it.each([
    ["no token", async () => ({ traceId: "run-1" })],
    ["a token that is not a JWT", async () => ({ traceId: "run-1", token: "hello" })],
    ["an expired token", async () => ({ traceId: "run-1", token: await expiredToken() })],
    [
      "a token signed with another secret",
      async () => ({
        traceId: "run-1",
        token: await mintToken({ secret: "another-secret-that-is-also-long-enough", traces: ["run-1"] }),
      }),
    ],
    ["a tampered payload", async () => ({ traceId: "run-1", token: await tampered() })],
    ["an alg:none token", async () => ({ traceId: "run-1", token: unsigned() })],
    ["a token without exp", async () => ({ traceId: "run-1", token: await withoutExpiry() })],
    [
      "a traces claim that is not a list",
      async () => ({ traceId: "run-1", token: await signed({ traces: "run-1" }) }),
    ],
  ])("refuses (401) %s", async (_label, query) => {
    expect(await refusal(authorize(request(await query())))).toBe(UNAUTHORIZED);
  });

  it("never logs the token", async () => {
    const log = recordingLog();
    const token = await mintToken({ secret: "another-secret-that-is-also-long-enough", traces: ["run-1"] });
    const auth = makeAuthorizer({ verify: verifierFromEnv({ JWT_SECRET: SECRET }), log });
    await refusal(auth({ methodArn: METHOD_ARN, queryStringParameters: { traceId: "run-1", token } }));
    expect(log.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(log.lines)).not.toContain(token.split(".")[2]);
  });
});

describe("traceAllowed", () => {
  it("matches exact ids and * prefixes only", () => {
    expect(traceAllowed(["a"], "a")).toBe(true);
    expect(traceAllowed(["a"], "ab")).toBe(false);
    expect(traceAllowed(["a*"], "ab")).toBe(true);
    expect(traceAllowed(["*"], "anything")).toBe(true);
    expect(traceAllowed([], "a")).toBe(false);
  });
});

describe("authorizer configuration", () => {
  it("fails fast, saying what to set, when no key is configured", () => {
    expect(() => createHandler({})).toThrow(ConfigError);
    expect(() => createHandler({})).toThrow(/JWT_SECRET/);
  });

  it("requires an issuer with a JWKS URL", () => {
    expect(() => createHandler({ JWKS_URL: "https://issuer.example/jwks" })).toThrow(/JWT_ISSUER/);
  });
});

describe("authorizer (OIDC JWKS)", () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  const issuer = "https://issuer.test";

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const oidcToken = (claims: { iss?: string; aud?: string }) =>
    new SignJWT({ traces: ["run-1"] })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? "viewer")
      .setSubject("bob")
      .setExpirationTime("5m")
      .sign(privateKey);

  it("accepts a token from the issuer and refuses one with another issuer or audience", async () => {
    const oidc = createHandler({
      JWKS_URL: jwksUrl,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: "viewer",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const ok = await oidc(request({ traceId: "run-1", token: await oidcToken({}) }));
    expect(ok.policyDocument.Statement[0].Effect).toBe("Allow");
    expect(
      await refusal(oidc(request({ traceId: "run-1", token: await oidcToken({ iss: "https://evil" }) }))),
    ).toBe(UNAUTHORIZED);
    expect(await refusal(oidc(request({ traceId: "run-1", token: await oidcToken({ aud: "admin" }) })))).toBe(
      UNAUTHORIZED,
    );
  });

  it("refuses an HS256 token signed with the public key's bytes (algorithm confusion)", async () => {
    const oidc = createHandler({ JWKS_URL: jwksUrl, JWT_ISSUER: issuer, POWERTOOLS_LOG_LEVEL: "SILENT" });
    const token = await mintToken({ secret: SECRET, traces: ["run-1"], issuer });
    expect(await refusal(oidc(request({ traceId: "run-1", token })))).toBe(UNAUTHORIZED);
  });
});

async function signed(claims: Record<string, unknown>) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));
}

async function expiredToken() {
  return new SignJWT({ traces: ["run-1"] })
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(new TextEncoder().encode(SECRET));
}

async function withoutExpiry() {
  return new SignJWT({ traces: ["run-1"] })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
}

async function tampered() {
  const [header, , signature] = (await mintToken({ secret: SECRET, traces: ["run-1"] })).split(".");
  return `${header}.${encode({ traces: ["*"], exp: Math.floor(Date.now() / 1000) + 600 })}.${signature}`;
}

function unsigned() {
  return `${encode({ alg: "none", typ: "JWT" })}.${encode({ traces: ["run-1"], exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}
