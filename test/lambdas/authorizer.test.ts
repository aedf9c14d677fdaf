import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeAuthorizer, traceAllowed, UNAUTHORIZED } from "../../lambdas/authorizer/authorizer.js";
import { createHandler, verifierFromEnv } from "../../lambdas/authorizer/handler.js";
import { mintToken } from "../../lambdas/authorizer/token.js";
import {
  checkTokenLifetime,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  IAT_CLOCK_SKEW_SECONDS,
  TokenLifetimeError,
} from "../../lambdas/authorizer/token-lifetime.js";
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
    ["a token without iat", async () => ({ traceId: "run-1", token: await signed({ traces: ["run-1"] }) })],
    [
      "a token valid until the year 2200",
      async () => ({ traceId: "run-1", token: await lifetime({ iat: 0, exp: YEAR_2200 }) }),
    ],
    [
      "a token issued now that lives a second longer than the day the cap allows",
      async () => ({
        traceId: "run-1",
        token: await lifetime({ iat: 0, exp: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + 1 }),
      }),
    ],
    [
      "a token whose iat is in the future beyond the clock skew",
      async () => ({
        traceId: "run-1",
        token: await lifetime({ iat: IAT_CLOCK_SKEW_SECONDS + 30, exp: IAT_CLOCK_SKEW_SECONDS + 600 }),
      }),
    ],
    [
      "a traces claim that is not a list",
      async () => ({ traceId: "run-1", token: await signed({ traces: "run-1" }) }),
    ],
  ])("refuses (401) %s", async (_label, query) => {
    expect(await refusal(authorize(request(await query())))).toBe(UNAUTHORIZED);
  });

  it("accepts a token of exactly the capped lifetime, and one whose iat is a few seconds ahead", async () => {
    const day = await lifetime({ iat: 0, exp: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS });
    expect(
      (await authorize(request({ traceId: "run-1", token: day }))).policyDocument.Statement[0].Effect,
    ).toBe("Allow");
    const skewed = await lifetime({ iat: 10, exp: 600 });
    expect(
      (await authorize(request({ traceId: "run-1", token: skewed }))).policyDocument.Statement[0].Effect,
    ).toBe("Allow");
  });

  it("caps the lifetime at JWT_MAX_LIFETIME_SECONDS when it is set", async () => {
    const short = createHandler({
      JWT_SECRET: SECRET,
      JWT_MAX_LIFETIME_SECONDS: "900",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const quarter = await lifetime({ iat: 0, exp: 900 });
    expect(
      (await short(request({ traceId: "run-1", token: quarter }))).policyDocument.Statement[0].Effect,
    ).toBe("Allow");
    const hour = await mintToken({ secret: SECRET, traces: ["run-1"], ttlSeconds: 3600 });
    expect(await refusal(short(request({ traceId: "run-1", token: hour })))).toBe(UNAUTHORIZED);
    expect(() => createHandler({ JWT_SECRET: SECRET, JWT_MAX_LIFETIME_SECONDS: "forever" })).toThrow(
      /JWT_MAX_LIFETIME_SECONDS must be a positive integer/,
    );
  });

  it("logs why a token's lifetime was refused, by code", async () => {
    const log = recordingLog();
    const auth = makeAuthorizer({ verify: verifierFromEnv({ JWT_SECRET: SECRET }), log });
    const token = await lifetime({ iat: 0, exp: YEAR_2200 });
    await refusal(auth({ methodArn: METHOD_ARN, queryStringParameters: { traceId: "run-1", token } }));
    expect(log.lines).toContainEqual(
      expect.objectContaining({ fields: { reason: "invalid_token", code: "ERR_TOKEN_LIFETIME_TOO_LONG" } }),
    );
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

describe("checkTokenLifetime", () => {
  const now = 1_800_000_000;
  const codeOf = (claims: Record<string, unknown>, max = 3600) => {
    try {
      checkTokenLifetime(claims, now, max);
      return "ok";
    } catch (error) {
      expect(error).toBeInstanceOf(TokenLifetimeError);
      return (error as TokenLifetimeError).code;
    }
  };

  it("accepts exp - iat up to the cap, with iat up to the clock skew ahead", () => {
    expect(codeOf({ iat: now, exp: now + 3600 })).toBe("ok");
    expect(codeOf({ iat: now + IAT_CLOCK_SKEW_SECONDS, exp: now + 3600 })).toBe("ok");
    expect(codeOf({ iat: now - 3000, exp: now + 600 })).toBe("ok");
  });

  it("refuses a missing or non-numeric iat, a future iat, and a lifetime over the cap", () => {
    expect(codeOf({ exp: now + 60 })).toBe("ERR_TOKEN_IAT_MISSING");
    expect(codeOf({ iat: "now", exp: now + 60 })).toBe("ERR_TOKEN_IAT_MISSING");
    expect(codeOf({ iat: Number.NaN, exp: now + 60 })).toBe("ERR_TOKEN_IAT_MISSING");
    expect(codeOf({ iat: now + IAT_CLOCK_SKEW_SECONDS + 1, exp: now + 600 })).toBe("ERR_TOKEN_IAT_IN_FUTURE");
    expect(codeOf({ iat: now, exp: now + 3601 })).toBe("ERR_TOKEN_LIFETIME_TOO_LONG");
    expect(codeOf({ iat: now, exp: YEAR_2200 })).toBe("ERR_TOKEN_LIFETIME_TOO_LONG");
    // A token issued long ago that expires soon still lived too long.
    expect(codeOf({ iat: now - 10 * 86_400, exp: now + 60 })).toBe("ERR_TOKEN_LIFETIME_TOO_LONG");
  });
});

describe("mintToken", () => {
  it("refuses to mint a token the authorizer would refuse for its lifetime", async () => {
    await expect(mintToken({ secret: SECRET, traces: ["a"], ttlSeconds: 7 * 86_400 })).rejects.toThrow(
      /ttlSeconds must be at most 86400/,
    );
    await expect(
      mintToken({ secret: SECRET, traces: ["a"], ttlSeconds: 901, maxTtlSeconds: 900 }),
    ).rejects.toThrow(/at most 900/);
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

  const oidcToken = (claims: { iss?: string; aud?: string; token_use?: string }) =>
    new SignJWT({ traces: ["run-1"], ...(claims.token_use ? { token_use: claims.token_use } : {}) })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? "viewer")
      .setSubject("bob")
      .setIssuedAt()
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

  it("takes only the token_use it is told to (JWT_TOKEN_USE): an ID token, not an access token", async () => {
    const idOnly = createHandler({
      JWKS_URL: jwksUrl,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: "viewer",
      JWT_TOKEN_USE: "id",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const idToken = await oidcToken({ token_use: "id" });
    expect(
      (await idOnly(request({ traceId: "run-1", token: idToken }))).policyDocument.Statement[0].Effect,
    ).toBe("Allow");
    for (const token of [await oidcToken({ token_use: "access" }), await oidcToken({})]) {
      expect(await refusal(idOnly(request({ traceId: "run-1", token })))).toBe(UNAUTHORIZED);
    }
  });

  it("refuses an HS256 token signed with the public key's bytes (algorithm confusion)", async () => {
    const oidc = createHandler({ JWKS_URL: jwksUrl, JWT_ISSUER: issuer, POWERTOOLS_LOG_LEVEL: "SILENT" });
    const token = await mintToken({ secret: SECRET, traces: ["run-1"], issuer });
    expect(await refusal(oidc(request({ traceId: "run-1", token })))).toBe(UNAUTHORIZED);
  });
});

/** 2200-01-01T00:00:00Z in epoch seconds. */
const YEAR_2200 = 7_258_118_400;

/** An HS256 token for run-1 with `iat` and `exp` given in seconds from now (`exp` absolute past 10^9). */
async function lifetime(times: { iat: number; exp: number }) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ traces: ["run-1"] })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now + times.iat)
    .setExpirationTime(times.exp > 1_000_000_000 ? times.exp : now + times.exp)
    .sign(new TextEncoder().encode(SECRET));
}

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
