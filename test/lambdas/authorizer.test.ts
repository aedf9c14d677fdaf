import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InternalServiceError, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthorizerUnavailableError,
  makeAuthorizer,
  traceAllowed,
  UNAUTHORIZED,
} from "../../lambdas/authorizer/authorizer.js";
import { createHandler, verifierFromEnv } from "../../lambdas/authorizer/handler.js";
import { mintToken } from "../../lambdas/authorizer/token.js";
import {
  checkTokenLifetime,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  IAT_CLOCK_SKEW_SECONDS,
  TokenLifetimeError,
} from "../../lambdas/authorizer/token-lifetime.js";
import { hs256Verifier, secretsManagerSecret } from "../../lambdas/authorizer/verifier.js";
import { ConfigError } from "../../lambdas/shared/config.js";
import { noMetrics } from "../../lambdas/shared/telemetry.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

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

  it("allows a runs-list connection with the token's grants in its context, and denies one with more than 20", async () => {
    const token = await mintToken({ secret: SECRET, traces: ["team-a/*", "run-9"], subject: "bob" });
    const policy = await authorize(request({ runs: "1", token }));
    expect(policy.policyDocument.Statement[0].Effect).toBe("Allow");
    expect(policy.context).toEqual({ runs: "1", grants: '["team-a/*","run-9"]', sub: "bob" });

    const many = await mintToken({ secret: SECRET, traces: Array.from({ length: 21 }, (_, n) => `t${n}/*`) });
    expect((await authorize(request({ runs: "1", token: many }))).policyDocument.Statement[0].Effect).toBe(
      "Deny",
    );
    // runs=2, or runs with a trace id: no runs grants in the context, so connect answers 400.
    for (const query of [
      { runs: "2", token },
      { runs: "1", traceId: "run-9", token },
    ]) {
      expect((await authorize(request(query))).context).toEqual({ traceId: "", sub: "bob" });
    }
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
    const auth = makeAuthorizer({ verify: verifierFromEnv({ JWT_SECRET: SECRET }), log, metrics: noMetrics });
    const token = await lifetime({ iat: 0, exp: YEAR_2200 });
    await refusal(auth({ methodArn: METHOD_ARN, queryStringParameters: { traceId: "run-1", token } }));
    expect(log.lines).toContainEqual(
      expect.objectContaining({ fields: { reason: "invalid_token", code: "ERR_TOKEN_LIFETIME_TOO_LONG" } }),
    );
  });

  it("never logs the token", async () => {
    const log = recordingLog();
    const token = await mintToken({ secret: "another-secret-that-is-also-long-enough", traces: ["run-1"] });
    const auth = makeAuthorizer({ verify: verifierFromEnv({ JWT_SECRET: SECRET }), log, metrics: noMetrics });
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

  it("requires an audience with a JWKS URL: an issuer signs tokens for many audiences", () => {
    expect(() =>
      createHandler({ JWKS_URL: "https://issuer.example/jwks", JWT_ISSUER: "https://issuer.example" }),
    ).toThrow(/Set JWT_AUDIENCE/);
  });

  it("accepts only access or id as the token use", () => {
    expect(() =>
      createHandler({
        JWKS_URL: "https://issuer.example/jwks",
        JWT_ISSUER: "https://issuer.example",
        JWT_AUDIENCE: "viewer",
        JWT_TOKEN_USE: "refresh",
      }),
    ).toThrow('JWT_TOKEN_USE must be "access" or "id", got "refresh"');
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
  /** A token with exactly these claims besides iss, sub, exp and traces. */
  const tokenWith = (claims: JWTPayload) =>
    new SignJWT({ traces: ["run-1"], ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setSubject("carol")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
  const oidcEnv = (extra: Record<string, string> = {}) => ({
    JWKS_URL: jwksUrl,
    JWT_ISSUER: issuer,
    JWT_AUDIENCE: "viewer",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    ...extra,
  });
  const effectOf = async (handler: ReturnType<typeof createHandler>, token: string) => {
    try {
      return (await handler(request({ traceId: "run-1", token }))).policyDocument.Statement[0].Effect;
    } catch (error) {
      return (error as Error).message;
    }
  };

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

  it("refuses (401) a token without the audience, whatever else it carries", async () => {
    const oidc = createHandler(oidcEnv());
    expect(await effectOf(oidc, await tokenWith({}))).toBe(UNAUTHORIZED);
    expect(await effectOf(oidc, await tokenWith({ aud: ["other", "more"] }))).toBe(UNAUTHORIZED);
    expect(await effectOf(oidc, await tokenWith({ aud: ["other", "viewer"] }))).toBe("Allow");
    // client_id stands for the audience only on a Cognito access token, which has no aud.
    expect(await effectOf(oidc, await tokenWith({ client_id: "viewer" }))).toBe(UNAUTHORIZED);
    expect(await effectOf(oidc, await tokenWith({ client_id: "viewer", token_use: "id" }))).toBe(
      UNAUTHORIZED,
    );
  });

  it("checks token_use where present: access tokens by default, id tokens when configured", async () => {
    const accessOnly = createHandler(oidcEnv());
    const cognitoAccess = await tokenWith({ token_use: "access", client_id: "viewer", scope: "openid" });
    const cognitoId = await tokenWith({ token_use: "id", aud: "viewer" });
    const otherClient = await tokenWith({ token_use: "access", client_id: "admin-app" });
    expect(await effectOf(accessOnly, cognitoAccess)).toBe("Allow");
    expect(await effectOf(accessOnly, cognitoId)).toBe(UNAUTHORIZED);
    expect(await effectOf(accessOnly, otherClient)).toBe(UNAUTHORIZED);
    // A provider that sets no token_use (Auth0, Okta, ...) is judged by its aud alone.
    expect(await effectOf(accessOnly, await tokenWith({ aud: "viewer" }))).toBe("Allow");

    const idOnly = createHandler(oidcEnv({ JWT_TOKEN_USE: "id" }));
    expect(await effectOf(idOnly, cognitoId)).toBe("Allow");
    expect(await effectOf(idOnly, cognitoAccess)).toBe(UNAUTHORIZED);
  });

  it("refuses an HS256 token signed with the public key's bytes (algorithm confusion)", async () => {
    const oidc = createHandler(oidcEnv());
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

/**
 * An outage of what the authorizer depends on (the issuer's JWKS, Secrets Manager) must not look
 * like a bad token: API Gateway answers 401 only for "Unauthorized", which clients treat as final;
 * any other failure is a 500 they retry.
 */
describe("authorizer outages are server errors, not refusals", () => {
  const issuer = "https://issuer.test";
  let privateKey: CryptoKey;
  let jwk: Record<string, unknown>;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  });

  /** An HTTP server answering every request with `answer`; resolves to its JWKS URL. */
  async function jwksServer(answer: (res: import("node:http").ServerResponse) => void) {
    const server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
    return { url, close };
  }

  const validToken = () =>
    new SignJWT({ traces: ["run-1"] })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(issuer)
      .setAudience("viewer")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);

  async function outcome(authorize: ReturnType<typeof makeAuthorizer>, token: string) {
    try {
      await authorize({ methodArn: METHOD_ARN, queryStringParameters: { traceId: "run-1", token } });
      return "allowed";
    } catch (error) {
      return error;
    }
  }

  function expectServerError(error: unknown, log: ReturnType<typeof recordingLog>, token: string) {
    expect(error).toBeInstanceOf(AuthorizerUnavailableError);
    expect((error as Error).message).not.toBe(UNAUTHORIZED);
    const errors = log.lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe("token verification unavailable");
    expect(JSON.stringify(log.lines)).not.toContain(token.split(".")[2]);
  }

  it("fails with a server error, logged at error level and counted, when the JWKS server is down", async () => {
    const { url, close } = await jwksServer(() => undefined);
    await close(); // nothing listens on the port any more: connections are refused
    const log = recordingLog();
    const metrics = recordingMetrics();
    const authorize = makeAuthorizer({
      verify: verifierFromEnv({ JWKS_URL: url, JWT_ISSUER: issuer, JWT_AUDIENCE: "viewer" }),
      log,
      metrics,
    });
    const token = await validToken();
    expectServerError(await outcome(authorize, token), log, token);
    expect(metrics.counts.AuthorizerFailures).toBe(1);
    // A token that is bad on its face is still refused: no keys are needed to see that.
    expect(((await outcome(authorize, "not-a-jwt")) as Error).message).toBe(UNAUTHORIZED);
  });

  it("fails with a server error when the JWKS server answers 503, and recovers once it serves keys", async () => {
    let up = false;
    const { url, close } = await jwksServer((res) => {
      if (!up) {
        res.statusCode = 503;
        res.end("unavailable");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    try {
      const log = recordingLog();
      const metrics = recordingMetrics();
      const authorize = makeAuthorizer({
        verify: verifierFromEnv({ JWKS_URL: url, JWT_ISSUER: issuer, JWT_AUDIENCE: "viewer" }),
        log,
        metrics,
      });
      const token = await validToken();
      expectServerError(await outcome(authorize, token), log, token);
      expect(metrics.counts.AuthorizerFailures).toBe(1);
      up = true;
      expect(await outcome(authorize, token)).toBe("allowed");
    } finally {
      await close();
    }
  });

  it("fails with a server error when Secrets Manager fails (fault injected at the SDK boundary)", async () => {
    const client = new SecretsManagerClient({
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
    let failing = true;
    client.middlewareStack.add(
      () => async () => {
        if (failing) {
          throw new InternalServiceError({ message: "internal failure", $metadata: { httpStatusCode: 500 } });
        }
        return { output: { SecretString: SECRET, $metadata: {} }, response: {} };
      },
      { step: "finalizeRequest", name: "secretsManagerFault" },
    );
    const log = recordingLog();
    const metrics = recordingMetrics();
    const authorize = makeAuthorizer({
      verify: hs256Verifier(
        secretsManagerSecret(client, "arn:aws:secretsmanager:us-east-1:1:secret:jwt"),
        {},
      ),
      log,
      metrics,
    });
    const token = await mintToken({ secret: SECRET, traces: ["run-1"] });
    const error = await outcome(authorize, token);
    expectServerError(error, log, token);
    expect((error as Error).cause).toBeInstanceOf(InternalServiceError);
    expect(metrics.counts.AuthorizerFailures).toBe(1);
    failing = false;
    expect(await outcome(authorize, token)).toBe("allowed");
    client.destroy();
  });

  it("the deployed handler answers a server error when Secrets Manager cannot be reached at all", async () => {
    const { url, close } = await jwksServer(() => undefined);
    await close();
    const handler = createHandler({
      JWT_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: new URL(url).origin,
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    });
    const token = await mintToken({ secret: SECRET, traces: ["run-1"] });
    const error = await handler(request({ traceId: "run-1", token })).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(AuthorizerUnavailableError);
    expect((error as Error).message).not.toBe(UNAUTHORIZED);
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
