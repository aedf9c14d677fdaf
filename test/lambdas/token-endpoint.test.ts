import fc from "fast-check";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { createHandler as createAuthorizer } from "../../lambdas/authorizer/handler.js";
import { ConfigError } from "../../lambdas/shared/config.js";
import { callerNames, globMatches, grantsOf } from "../../lambdas/token/caller-grants.js";
import { createHandler, type TokenHttpEvent } from "../../lambdas/token/handler.js";
import { makeTokenEndpoint } from "../../lambdas/token/token-endpoint.js";
import { grantCovers, type TokenGrantRules, TokenIssued } from "../../protocol/token-api.js";
import { recordingLog, recordingMetrics } from "../support/telemetry.js";

const SECRET = "token-endpoint-test-secret-long-enough-for-hs256";
const ACCOUNT = "123456789012";
const VIEWER_ROLE = `arn:aws:iam::${ACCOUNT}:role/trace-viewer`;
const ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/trace-viewer/alice`;
const CI_USER = `arn:aws:iam::${ACCOUNT}:user/ci`;
const STRANGER = `arn:aws:iam::${ACCOUNT}:user/stranger`;

const RULES: TokenGrantRules = [
  { principals: [VIEWER_ROLE], traces: ["team-a/*", "shared-run"] },
  { principals: [`arn:aws:sts::${ACCOUNT}:assumed-role/trace-viewer/alice`], traces: ["alice/*"] },
  { principals: [`arn:aws:iam::${ACCOUNT}:user/ci*`], traces: ["ci/*"] },
];

const env = (overrides: Record<string, string> = {}) => ({
  JWT_SECRET: SECRET,
  TOKEN_GRANTS: JSON.stringify(RULES),
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
  ...overrides,
});

const event = (callerArn: string | undefined, query: string): TokenHttpEvent => ({
  rawQueryString: query,
  requestContext: callerArn === undefined ? {} : { authorizer: { iam: { userArn: callerArn } } },
});

const handler = createHandler(env());

async function issue(callerArn: string | undefined, query: string) {
  const result = await handler(event(callerArn, query));
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

const authorizer = createAuthorizer({ JWT_SECRET: SECRET, POWERTOOLS_LOG_LEVEL: "SILENT" });
const connectAs = async (token: string, traceId: string) =>
  (
    await authorizer({
      type: "REQUEST",
      methodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/$connect",
      queryStringParameters: { traceId, token },
    } as never)
  ).policyDocument.Statement[0].Effect;

describe("token endpoint: issuing", () => {
  it("issues a token for the traces asked for, which the authorizer accepts for those traces only", async () => {
    const { statusCode, json, headers } = await issue(ALICE, "traceId=team-a/run-1&traceId=alice/*");
    expect(statusCode).toBe(200);
    expect(headers["cache-control"]).toBe("no-store");
    const body = TokenIssued.parse(json);
    expect(body.traces).toEqual(["team-a/run-1", "alice/*"]);
    const claims = decodeJwt(body.token);
    expect(claims.sub).toBe(ALICE);
    expect(claims.traces).toEqual(["team-a/run-1", "alice/*"]);
    expect(await connectAs(body.token, "team-a/run-1")).toBe("Allow");
    expect(await connectAs(body.token, "alice/run-7")).toBe("Allow");
    // Granted by the policy, but not asked for: the token is scoped to the request.
    expect(await connectAs(body.token, "team-a/run-2")).toBe("Deny");
    expect(await connectAs(body.token, "shared-run")).toBe("Deny");
  });

  it("gives the default lifetime (15 minutes) unless the caller asks for another within the cap", async () => {
    const byDefault = TokenIssued.parse((await issue(VIEWER_ROLE, "traceId=shared-run")).json);
    expect(byDefault.expiresInSeconds).toBe(900);
    const claims = decodeJwt(byDefault.token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);
    expect(Date.parse(byDefault.expiresAt) / 1000).toBe(claims.exp);

    const hour = TokenIssued.parse((await issue(VIEWER_ROLE, "traceId=shared-run&ttlSeconds=3600")).json);
    const hourClaims = decodeJwt(hour.token);
    expect((hourClaims.exp ?? 0) - (hourClaims.iat ?? 0)).toBe(3600);
  });

  it("matches a role session by its role's ARN, and a session pattern by the session alone", async () => {
    const bob = `arn:aws:sts::${ACCOUNT}:assumed-role/trace-viewer/bob`;
    expect((await issue(bob, "traceId=team-a/x")).statusCode).toBe(200);
    expect((await issue(bob, "traceId=alice/x")).statusCode).toBe(403);
    expect((await issue(ALICE, "traceId=alice/x")).statusCode).toBe(200);
  });

  it("grants a prefix only within a granted prefix, never from an exact id", async () => {
    expect((await issue(VIEWER_ROLE, "traceId=team-a/nightly-*")).statusCode).toBe(200);
    expect((await issue(VIEWER_ROLE, "traceId=team-*")).statusCode).toBe(403);
    expect((await issue(VIEWER_ROLE, "traceId=shared-run*")).statusCode).toBe(403);
    expect((await issue(VIEWER_ROLE, "traceId=*")).statusCode).toBe(403);
  });
});

describe("token endpoint: refusals", () => {
  it("refuses (403) a caller no rule names, saying so", async () => {
    const { statusCode, json } = await issue(STRANGER, "traceId=team-a/run-1");
    expect(statusCode).toBe(403);
    expect(json.message).toBe(`no grant of the token policy names this caller (${STRANGER})`);
  });

  it("refuses (403) the whole request when one trace is not granted, naming it", async () => {
    const { statusCode, json } = await issue(CI_USER, "traceId=ci/build-1&traceId=team-a/run-1");
    expect(statusCode).toBe(403);
    expect(json).toEqual({ message: "this caller may not watch: team-a/run-1" });
  });

  it.each([
    ["no traceId", "", /traceId is required/],
    [
      "an unknown parameter",
      "traceId=ci/1&scope=admin",
      /unknown parameter "scope": use traceId and ttlSeconds/,
    ],
    ["a malformed trace id", "traceId=ci%2F1%20or%201", /traceId "ci\/1 or 1" is neither a trace id/],
    ["a * in the middle", "traceId=ci*%2Fx", /is neither a trace id/],
    ["21 traces", Array.from({ length: 21 }, (_, i) => `traceId=ci/${i}`).join("&"), /at most 20 traceId/],
    [
      "a lifetime over the cap",
      "traceId=ci/1&ttlSeconds=3601",
      /ttlSeconds must be a whole number of seconds from 60 to 3600, got "3601"/,
    ],
    ["a lifetime of the year 2200", "traceId=ci/1&ttlSeconds=7258118400", /from 60 to 3600/],
    ["a lifetime under a minute", "traceId=ci/1&ttlSeconds=5", /from 60 to 3600/],
    ["a lifetime that is not a number", "traceId=ci/1&ttlSeconds=1e3", /got "1e3"/],
    ["a negative lifetime", "traceId=ci/1&ttlSeconds=-60", /got "-60"/],
    ["two lifetimes", "traceId=ci/1&ttlSeconds=60&ttlSeconds=3600", /ttlSeconds may be given once/],
  ])("refuses (400) %s with a message", async (_label, query, message) => {
    const { statusCode, json } = await issue(CI_USER, query);
    expect(statusCode).toBe(400);
    expect(json.message).toMatch(message);
  });

  it("fails closed (500) when a request arrives without an IAM caller, and logs the misconfiguration", async () => {
    const log = recordingLog();
    const endpoint = makeTokenEndpoint({
      rules: [{ principals: ["*"], traces: ["*"] }],
      lifetimes: { defaultTtlSeconds: 900, maxTtlSeconds: 3600 },
      mint: async () => "never",
      log,
      metrics: recordingMetrics(),
      now: Date.now,
    });
    expect(await endpoint({ callerArn: undefined, rawQueryString: "traceId=a" })).toEqual({
      statusCode: 500,
      body: { message: "the token endpoint is misconfigured" },
    });
    expect(log.lines.map((line) => line.level)).toEqual(["error"]);
  });

  it("answers 500 with a retry hint, and no detail, when the key cannot be read", async () => {
    const unreachable = createHandler({
      ...env(),
      JWT_SECRET: "",
      JWT_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:trace-stream-key",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://127.0.0.1:9",
    });
    const result = await unreachable(event(CI_USER, "traceId=ci/1"));
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body)).toEqual({ message: "the token endpoint failed; try again" });
  });

  it("logs who asked for what, and never the token", async () => {
    const log = recordingLog();
    const metrics = recordingMetrics();
    const endpoint = makeTokenEndpoint({
      rules: RULES,
      lifetimes: { defaultTtlSeconds: 900, maxTtlSeconds: 3600 },
      mint: async () => "header.payload.signature-that-must-not-be-logged",
      log,
      metrics,
      now: Date.now,
    });
    await endpoint({ callerArn: CI_USER, rawQueryString: "traceId=ci/1" });
    await endpoint({ callerArn: STRANGER, rawQueryString: "traceId=ci/1" });
    expect(JSON.stringify(log.lines)).not.toContain("signature-that-must-not-be-logged");
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        message: "token issued",
        fields: expect.objectContaining({ caller: CI_USER }),
      }),
    );
    expect(metrics.counts).toEqual({ TokensIssued: 1, TokensRefused: 1 });
  });
});

describe("token endpoint: configuration", () => {
  it("fails fast, naming the variable, without a policy or with a bad one", () => {
    expect(() => createHandler(env({ TOKEN_GRANTS: "" }))).toThrow(ConfigError);
    expect(() => createHandler(env({ TOKEN_GRANTS: "" }))).toThrow(/Set TOKEN_GRANTS/);
    expect(() => createHandler(env({ TOKEN_GRANTS: "[{" }))).toThrow(/TOKEN_GRANTS is not JSON/);
    expect(() =>
      createHandler(env({ TOKEN_GRANTS: JSON.stringify([{ principals: ["alice"], traces: ["*"] }]) })),
    ).toThrow(/TOKEN_GRANTS is not a valid token policy: .*IAM or STS ARN/s);
    expect(() =>
      createHandler(env({ TOKEN_GRANTS: JSON.stringify([{ principals: ["*"], traces: ["bad trace"] }]) })),
    ).toThrow(/a trace id .* or a prefix of one ending in \*/);
    expect(() =>
      createHandler(
        env({ TOKEN_GRANTS: JSON.stringify([{ principals: ["*"], traces: ["*"], admin: true }]) }),
      ),
    ).toThrow(/admin/);
  });

  it("refuses a default lifetime longer than the maximum, and needs a key", () => {
    expect(() => createHandler(env({ TOKEN_DEFAULT_TTL_SECONDS: "7200" }))).toThrow(
      /TOKEN_DEFAULT_TTL_SECONDS \(7200\) must not exceed TOKEN_MAX_TTL_SECONDS \(3600\)/,
    );
    expect(() => createHandler(env({ JWT_SECRET: "" }))).toThrow(/Set JWT_SECRET_ARN or JWT_SECRET/);
  });

  it("signs with the issuer and audience the authorizer requires", async () => {
    const strict = createHandler(env({ JWT_ISSUER: "trace-stream", JWT_AUDIENCE: "viewers" }));
    const body = TokenIssued.parse(JSON.parse((await strict(event(CI_USER, "traceId=ci/1"))).body));
    const checking = createAuthorizer({
      JWT_SECRET: SECRET,
      JWT_ISSUER: "trace-stream",
      JWT_AUDIENCE: "viewers",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const policy = await checking({
      type: "REQUEST",
      methodArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/$connect",
      queryStringParameters: { traceId: "ci/1", token: body.token },
    } as never);
    expect(policy.policyDocument.Statement[0].Effect).toBe("Allow");
  });
});

describe("caller names and principal patterns", () => {
  it("knows a role session by its ARN and by its role's", () => {
    expect(callerNames(ALICE)).toEqual([ALICE, VIEWER_ROLE]);
    expect(callerNames("arn:aws-cn:sts::123456789012:assumed-role/r/s")).toContain(
      "arn:aws-cn:iam::123456789012:role/r",
    );
    expect(callerNames(CI_USER)).toEqual([CI_USER]);
  });

  it("unions the traces of every rule the caller matches", () => {
    expect(grantsOf(RULES, ALICE)).toEqual(["team-a/*", "shared-run", "alice/*"]);
    expect(grantsOf(RULES, STRANGER)).toEqual([]);
  });

  it("matches * across any characters, and nothing else loosely", () => {
    expect(globMatches("arn:aws:iam::*:role/viewer", "arn:aws:iam::123:role/viewer")).toBe(true);
    expect(globMatches("arn:aws:iam::123:role/viewer", "arn:aws:iam::123:role/viewer-admin")).toBe(false);
    expect(globMatches("arn:aws:iam::123:role/viewer*", "arn:aws:iam::123:role/viewer-admin")).toBe(true);
    expect(globMatches("*", "")).toBe(true);
    expect(globMatches("a.c", "abc")).toBe(false);
  });

  it("agrees with an anchored regular expression on any pattern and text (property)", () => {
    const alphabet = fc.constantFrom("a", "b", "/", ":", ".", "*");
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 8 }),
        fc.string({ unit: alphabet, maxLength: 12 }),
        (pattern, text) => {
          const source = pattern.replace(/[.+?^${}()|[\]\\/]/g, "\\$&").replaceAll("*", ".*");
          expect(globMatches(pattern, text)).toBe(new RegExp(`^${source}$`, "s").test(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("covers ids by ids and prefixes, prefixes by wider prefixes only", () => {
    expect(grantCovers(["a/*"], "a/1")).toBe(true);
    expect(grantCovers(["a/*"], "a/b*")).toBe(true);
    expect(grantCovers(["a/b*"], "a/*")).toBe(false);
    expect(grantCovers(["a"], "a*")).toBe(false);
    expect(grantCovers(["*"], "*")).toBe(true);
  });
});
