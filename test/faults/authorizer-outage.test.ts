import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as createAuthorizer } from "../../lambdas/authorizer/handler.js";
import { ENV } from "../../lambdas/shared/env-names.js";
import { openSubscriber, startTestStack, type TestStack, UpgradeRefused } from "../helpers/local-stack.js";
import { eventually, watchTrace } from "../soak/trace-watchers.js";
import { newTraceId } from "./fault-scenario.js";

const ISSUER = "https://issuer.test";
const AUDIENCE = "trace-viewer";

/**
 * The issuer's JWKS endpoint goes down while viewers connect (OIDC mode). The gateway must answer
 * 500, which the client retries, not 401, which it must treat as final; once the keys are back,
 * the same client connects without anyone calling reconnect().
 */
describe("an OIDC issuer whose JWKS endpoint is down", () => {
  let stack: TestStack;
  let server: Server;
  let jwksUp = false;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    server = createServer((_req, res) => {
      if (!jwksUp) {
        res.statusCode = 503;
        res.end("service unavailable");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    stack = await startTestStack({
      handlers: {
        // The authorizer as deployed in OIDC mode: the environment the CDK stack gives it.
        authorizer: (env) =>
          createAuthorizer({
            ...env,
            [ENV.jwksUrl]: jwksUrl,
            [ENV.jwtIssuer]: ISSUER,
            [ENV.jwtAudience]: AUDIENCE,
          }),
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const tokenFor = (traceId: string) =>
    new SignJWT({ traces: [traceId] })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject("viewer")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);

  const connectUrl = (traceId: string, token: string) =>
    `${stack.endpoints.webSocketUrl}?traceId=${encodeURIComponent(traceId)}&token=${encodeURIComponent(token)}`;

  it("answers 500 to a valid token while the keys cannot be fetched, and 401 to a bad one", async () => {
    jwksUp = false;
    const traceId = newTraceId("jwks-down");
    const refusal = await openSubscriber(connectUrl(traceId, await tokenFor(traceId))).catch((e) => e);
    expect(refusal).toBeInstanceOf(UpgradeRefused);
    expect((refusal as UpgradeRefused).statusCode).toBe(500);
    const bad = await openSubscriber(connectUrl(traceId, "not-a-jwt")).catch((e) => e);
    expect((bad as UpgradeRefused).statusCode).toBe(401);
  });

  it("the client keeps retrying through the outage and goes live once the keys are back", async () => {
    jwksUp = false;
    const traceId = newTraceId("jwks-recovers");
    const watcher = watchTrace(stack, traceId, { getToken: () => tokenFor(traceId) });
    const retries: string[] = [];
    watcher.client.on("state", (state) => {
      if (state.status === "reconnecting") retries.push(`${state.code}: ${state.reason}`);
    });
    watcher.client.connect();
    await eventually(
      () => retries.length >= 2 || watcher.client.state.status === "failed",
      "two refused handshakes",
      10_000,
    );
    expect(watcher.client.state).not.toMatchObject({ status: "failed" });
    expect(retries.slice(0, 2)).toEqual([
      "handshake_failed: the handshake was answered with HTTP 500",
      "handshake_failed: the handshake was answered with HTTP 500",
    ]);

    jwksUp = true;
    await eventually(() => watcher.client.state.status === "live", "the client to be live", 10_000);
    watcher.client.disconnect();
  });
});
