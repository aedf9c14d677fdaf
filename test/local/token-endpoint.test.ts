import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_CALLER } from "../../local/index.js";
import { TokenIssued } from "../../protocol/token-api.js";
import {
  openSubscriber,
  putTraceEvents,
  startTestStack,
  type TestStack,
  traceEvent,
  UpgradeRefused,
} from "../helpers/local-stack.js";
import { signedFetch } from "../helpers/signed-request.js";

// The token endpoint end to end: a caller signs GET /token with its credentials (SigV4, as the
// AWS SDK signs), the local HTTP API checks the signature as API Gateway's IAM authorization
// does, the token function applies the policy, and the token opens a WebSocket to the stack.

const ALICE = {
  accessKeyId: "ASIAALICEEXAMPLE",
  secretAccessKey: "alice-secret-access-key",
  sessionToken: "alice-session-token",
  arn: "arn:aws:sts::000000000000:assumed-role/trace-viewer/alice",
};
const OUTSIDER = {
  accessKeyId: "AKIAOUTSIDER",
  secretAccessKey: "outsider-secret-access-key",
  arn: "arn:aws:iam::000000000000:user/outsider",
  mayInvoke: false,
};

let stack: TestStack;
const tokenUrl = (query: string) => `${stack.endpoints.tokenEndpoint}?${query}`;

beforeAll(async () => {
  stack = await startTestStack({
    tokenEndpoint: {
      callers: [LOCAL_CALLER, ALICE, OUTSIDER],
      grants: [
        { principals: ["arn:aws:iam::000000000000:role/trace-viewer"], traces: ["team-a/*"] },
        { principals: [LOCAL_CALLER.arn], traces: ["*"] },
      ],
      maxTtlSeconds: 1800,
    },
  });
});
afterAll(() => stack?.stop());

describe("the local token endpoint", () => {
  it("gives a signed caller a token it connects with, and live events arrive on that connection", async () => {
    const traceId = "team-a/run-e2e";
    const { status, body, headers } = await signedFetch(
      tokenUrl(`traceId=${encodeURIComponent(traceId)}`),
      ALICE,
    );
    expect(status).toBe(200);
    expect(headers.get("cache-control")).toBe("no-store");
    const issued = TokenIssued.parse(body);
    expect(decodeJwt(issued.token)).toMatchObject({ sub: ALICE.arn, traces: [traceId] });

    const subscriber = await openSubscriber(stack.connectUrl(traceId, issued.token));
    try {
      subscriber.send({ action: "resume", afterSeq: -1 });
      await subscriber.waitFor((frame) => frame.type === "synced");
      await putTraceEvents(stack, [traceEvent(traceId, 0), traceEvent(traceId, 1)]);
      await subscriber.waitFor((frame) => frame.type === "event" && frame.seq === 1);
    } finally {
      await subscriber.close();
    }
  });

  it("scopes the token to what was asked for: another trace of the same grant is refused (403)", async () => {
    const { body } = await signedFetch(tokenUrl("traceId=team-a/run-1"), ALICE);
    const { token } = TokenIssued.parse(body);
    await expect(openSubscriber(stack.connectUrl("team-a/run-2", token))).rejects.toEqual(
      new UpgradeRefused(403),
    );
  });

  it("applies the policy: a trace outside the caller's grants is refused with the function's 403", async () => {
    const { status, body } = await signedFetch(tokenUrl("traceId=team-b/run-1"), ALICE);
    expect(status).toBe(403);
    expect(body).toEqual({ message: "this caller may not watch: team-b/run-1" });
  });

  it("caps the lifetime the caller may ask for", async () => {
    const over = await signedFetch(tokenUrl("traceId=any&ttlSeconds=1801"), LOCAL_CALLER);
    expect(over.status).toBe(400);
    expect(over.body.message).toMatch(/from 60 to 1800/);
    const within = await signedFetch(tokenUrl("traceId=any&ttlSeconds=1800"), LOCAL_CALLER);
    const claims = decodeJwt(TokenIssued.parse(within.body).token);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(1800);
  });

  it("refuses (403) an unsigned request before the function runs", async () => {
    expect(await signedFetch(tokenUrl("traceId=any"), undefined)).toMatchObject({
      status: 403,
      body: { message: "Forbidden" },
    });
  });

  it.each([
    [
      "an unknown access key",
      { ...LOCAL_CALLER, accessKeyId: "AKIANOBODY" },
      {},
      /security token included in the request is invalid/,
    ],
    [
      "the wrong secret key",
      { ...LOCAL_CALLER, secretAccessKey: "guessed" },
      {},
      /signature we calculated does not match/,
    ],
    [
      "another service's scope",
      LOCAL_CALLER,
      { service: "execute-apis" },
      /scoped to correct service: 'execute-api'/,
    ],
    ["another region's scope", LOCAL_CALLER, { region: "eu-west-1" }, /scoped to a valid region/],
    [
      "a signature over 5 minutes old",
      LOCAL_CALLER,
      { signingDate: new Date(Date.now() - 6 * 60_000) },
      /Signature expired/,
    ],
    [
      "a query widened after signing",
      LOCAL_CALLER,
      { afterSigning: ({ url }: { url: URL }) => url.searchParams.append("traceId", "*") },
      /signature we calculated does not match/,
    ],
    [
      "temporary credentials without their session token",
      { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey },
      {},
      /security token included in the request is invalid/,
    ],
  ])("refuses (403) a request signed with %s", async (_label, credentials, options, message) => {
    const { status, body } = await signedFetch(tokenUrl("traceId=any"), credentials, options);
    expect(status).toBe(403);
    expect(body.message).toMatch(message);
  });

  it("refuses (403) a caller whose IAM policy does not allow execute-api:Invoke, naming the route", async () => {
    const { status, body } = await signedFetch(tokenUrl("traceId=any"), OUTSIDER);
    expect(status).toBe(403);
    expect(body.message).toBe(
      `User: ${OUTSIDER.arn} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:local-token/$default/GET/token`,
    );
  });

  it("answers 404 for any other route, signed or not", async () => {
    expect((await signedFetch(`${stack.endpoints.tokenEndpoint}s?traceId=a`, LOCAL_CALLER)).status).toBe(404);
    expect((await signedFetch(tokenUrl("traceId=a"), LOCAL_CALLER, { method: "POST" })).status).toBe(404);
  });

  it("refuses to start with a policy the function would refuse", async () => {
    await expect(
      startTestStack({ tokenEndpoint: { grants: [{ principals: ["bob"], traces: ["*"] }] } }),
    ).rejects.toThrow(/tokenEndpoint.grants is not a valid token policy/);
  });
});
