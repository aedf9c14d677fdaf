import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import {
  AUTHORIZER_IDENTITY_SOURCES,
  DEFAULT_STAGE_THROTTLE,
  lambdaRoute,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
} from "../../lib/routes.js";
import { utf8Bytes } from "../../protocol/limits.js";
import {
  compileIdentitySources,
  evaluateAuthorizerOutput,
  isUnauthorizedError,
} from "./authorizer-policy.js";
import { amznTraceId, apiGatewayId } from "./aws-ids.js";
import {
  AWS_ERRORS,
  type AwsError,
  answerError,
  gatewayErrorMessage,
  refuseUpgrade,
} from "./aws-responses.js";
import { type CloseStatus, GOING_AWAY, LiveConnection } from "./connection.js";
import { ProxyResult, routeResponse, selectedSubprotocol } from "./integration-results.js";
import {
  type ApiFacts,
  type AuthorizerContext,
  authorizerEvent,
  type ConnectionFacts,
  connectEvent,
  connectMethodArn,
  describeUpgradeRequest,
  disconnectEvent,
  messageEvent,
  type UpgradeRequestFacts,
} from "./lambda-events.js";
import { createManagementApi, parseHttpTarget } from "./management-api.js";
import {
  type GatewayLogLevel,
  type GatewayOptions,
  resolveFaults,
  resolveLimits,
  type WebSocketGateway,
} from "./options.js";
import { compileRouteSelection, selectRoute } from "./route-selection.js";
import { StageThrottler } from "./throttle.js";

/** How long `close()` waits for a client's close handshake before cutting the socket. */
const CLOSE_GRACE_MS = 1_000;

class IntegrationTimeoutError extends Error {
  override readonly name = "IntegrationTimeoutError";
}

/** Close statuses of the `ws` library's own protocol errors, as RFC 6455 names them. */
function closeStatusOf(error: Error): CloseStatus | undefined {
  switch ((error as { code?: string }).code) {
    case "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH":
      return { code: 1009, reason: "Message too big" };
    case "WS_ERR_INVALID_UTF8":
      return { code: 1007, reason: "Invalid UTF-8" };
    case undefined:
      return undefined;
    default:
      return { code: 1002, reason: "Protocol error" };
  }
}

function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function messageBytes(data: Buffer | string): number {
  return typeof data === "string" ? utf8Bytes(data) : data.length;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error);
}

/**
 * Starts the local API Gateway WebSocket API and its @connections management API on one port.
 * Routes come from lib/routes.ts; every integration runs through `options.invoke`.
 */
export async function startWebSocketGateway(options: GatewayOptions): Promise<WebSocketGateway> {
  const host = options.host ?? "127.0.0.1";
  const stage = options.stage ?? "local";
  const limits = resolveLimits(options.limits);
  const faults = resolveFaults(options.faults);
  const log = options.log ?? (() => {});
  // Fail at startup, not on the first message, if the route table uses forms this emulator lacks.
  const selectionKey = compileRouteSelection(ROUTE_SELECTION_EXPRESSION);
  const missingIdentitySources = compileIdentitySources(AUTHORIZER_IDENTITY_SOURCES);
  const connectRoute = lambdaRoute("$connect");
  const throttler = new StageThrottler(options.throttle ?? DEFAULT_STAGE_THROTTLE);
  const disconnectRoute = lambdaRoute("$disconnect");

  const live = new Map<string, LiveConnection>();
  const handshakes = new Set<Duplex>();
  const inflight = new Set<Promise<unknown>>();
  const subprotocols = new WeakMap<IncomingMessage, string>();
  let closing: Promise<void> | undefined;

  const server = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    // API Gateway answers with a subprotocol only when the $connect integration returns one.
    handleProtocols: (offered, request) => {
      const chosen = subprotocols.get(request);
      return chosen !== undefined && offered.has(chosen) ? chosen : false;
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 3001, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const api: ApiFacts = {
    apiId: options.apiId ?? "local",
    stage,
    region: options.region ?? "us-east-1",
    accountId: options.accountId ?? "000000000000",
    domainName: `${host}:${port}`,
  };

  function track<T>(promise: Promise<T>): Promise<T> {
    inflight.add(promise);
    void promise.then(
      () => inflight.delete(promise),
      () => inflight.delete(promise),
    );
    return promise;
  }

  function logAt(level: GatewayLogLevel, message: string, data?: Record<string, unknown>): void {
    try {
      log(level, message, data);
    } catch {
      // A broken logger must not take the gateway down.
    }
  }

  /** Invokes an integration as API Gateway does: bounded by the integration timeout. */
  function invokeIntegration(functionName: string, event: unknown): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new IntegrationTimeoutError(
              `${functionName} did not answer in ${limits.integrationTimeoutMs} ms`,
            ),
          ),
        limits.integrationTimeoutMs,
      );
    });
    const call = Promise.resolve().then(() => options.invoke(functionName, event));
    return track(Promise.race([call, timeout]).finally(() => clearTimeout(timer)));
  }

  function notifyDisconnect(
    facts: ConnectionFacts,
    authorizer: AuthorizerContext | undefined,
    status: CloseStatus,
  ): void {
    const { connectionId } = facts;
    logAt("info", "disconnected", { connectionId, code: status.code, reason: status.reason });
    if (!disconnectRoute) return;
    if (faults.dropDisconnect) {
      logAt("warn", "$disconnect dropped (fault)", { connectionId });
      return;
    }
    const event = disconnectEvent(api, facts, authorizer, {
      statusCode: status.code,
      reason: status.reason,
      requestId: apiGatewayId(),
      now: Date.now(),
    });
    // API Gateway ignores what $disconnect answers; a failure is only worth a log line.
    invokeIntegration(disconnectRoute.function, event).catch((error: unknown) => {
      logAt("warn", "$disconnect integration failed", { connectionId, error: describeError(error) });
    });
  }

  type Authorization =
    | { readonly authorizer: AuthorizerContext }
    | { readonly refusal: AwsError; readonly why: string };

  async function authorize(facts: ConnectionFacts, upgrade: UpgradeRequestFacts): Promise<Authorization> {
    const missing = missingIdentitySources(upgrade);
    if (missing.length > 0) {
      return { refusal: AWS_ERRORS.unauthorized, why: `missing identity source: ${missing.join(", ")}` };
    }
    const started = Date.now();
    let output: unknown;
    try {
      output = await invokeIntegration(
        "authorizer",
        authorizerEvent(api, facts, upgrade, apiGatewayId(), started),
      );
    } catch (error) {
      if (isUnauthorizedError(error))
        return { refusal: AWS_ERRORS.unauthorized, why: "authorizer: Unauthorized" };
      return { refusal: AWS_ERRORS.authorizerFailure, why: `authorizer failed: ${describeError(error)}` };
    }
    const decision = evaluateAuthorizerOutput(output, connectMethodArn(api));
    switch (decision.effect) {
      case "Invalid":
        return { refusal: AWS_ERRORS.authorizerFailure, why: decision.reason };
      case "Deny":
        return {
          refusal: decision.explicit ? AWS_ERRORS.explicitDeny : AWS_ERRORS.implicitDeny,
          why: `authorizer denied ${decision.principalId}`,
        };
      case "Allow":
        return {
          authorizer: {
            ...decision.context,
            principalId: decision.principalId,
            integrationLatency: Date.now() - started,
          },
        };
    }
  }

  /** Runs the `$connect` integration; a refusal when it fails or answers non-2xx. */
  async function runConnect(
    request: IncomingMessage,
    facts: ConnectionFacts,
    upgrade: UpgradeRequestFacts,
    authorizer: AuthorizerContext | undefined,
  ): Promise<{ refusal: AwsError; why: string } | undefined> {
    if (!connectRoute) return undefined;
    let output: unknown;
    try {
      output = await invokeIntegration(
        connectRoute.function,
        connectEvent(api, facts, upgrade, authorizer, apiGatewayId(), Date.now()),
      );
    } catch (error) {
      const refusal =
        error instanceof IntegrationTimeoutError
          ? AWS_ERRORS.integrationTimeout
          : AWS_ERRORS.integrationFailure;
      return { refusal, why: `$connect integration failed: ${describeError(error)}` };
    }
    const result = ProxyResult.safeParse(output);
    if (!result.success) {
      return {
        refusal: AWS_ERRORS.integrationFailure,
        why: "$connect integration returned a malformed response",
      };
    }
    const { statusCode, body } = result.data;
    if (statusCode < 200 || statusCode > 299) {
      return {
        refusal: { status: statusCode, body: body ?? "" },
        why: `$connect integration answered ${statusCode}`,
      };
    }
    const subprotocol = selectedSubprotocol(result.data);
    if (subprotocol !== undefined) subprotocols.set(request, subprotocol);
    return undefined;
  }

  async function acceptUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? "/", "http://gateway.invalid");
    if (closing || parseHttpTarget(url.pathname, stage).kind !== "stage") {
      refuseUpgrade(socket, AWS_ERRORS.forbidden);
      return;
    }
    handshakes.add(socket);
    try {
      await completeHandshake(request, socket, head, url);
    } finally {
      handshakes.delete(socket);
    }
  }

  async function completeHandshake(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
  ): Promise<void> {
    const now = Date.now();
    const sourceIp = (request.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
    const facts: ConnectionFacts = {
      connectionId: apiGatewayId(),
      connectedAt: now,
      sourceIp,
      userAgent: request.headers["user-agent"] ?? null,
    };
    const upgrade = describeUpgradeRequest(request, url, { sourceIp, port, traceId: amznTraceId(now) });
    if (!throttler.take("$connect")) {
      logAt("warn", "connection refused", { status: 429, why: "$connect over the stage's throttle" });
      refuseUpgrade(socket, AWS_ERRORS.tooManyRequests);
      return;
    }

    let authorizer: AuthorizerContext | undefined;
    if (connectRoute?.authorized) {
      const authorization = await authorize(facts, upgrade);
      if ("refusal" in authorization) {
        logAt(authorization.refusal.status >= 500 ? "error" : "info", "connection refused", {
          status: authorization.refusal.status,
          why: authorization.why,
        });
        refuseUpgrade(socket, authorization.refusal);
        return;
      }
      authorizer = authorization.authorizer;
    }
    const refused = await runConnect(request, facts, upgrade, authorizer);
    if (refused) {
      logAt(refused.refusal.status >= 500 ? "error" : "info", "connection refused", {
        status: refused.refusal.status,
        why: refused.why,
      });
      refuseUpgrade(socket, refused.refusal);
      return;
    }
    if (socket.destroyed || !socket.writable) {
      // The client left (or the gateway closed) while $connect ran. Its integration already ran,
      // so $disconnect follows, as for any connection that was made.
      logAt("info", "client left during $connect", { connectionId: facts.connectionId });
      notifyDisconnect(facts, authorizer, { code: 1006, reason: "" });
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => register(ws, facts, authorizer));
  }

  function register(ws: WebSocket, facts: ConnectionFacts, authorizer: AuthorizerContext | undefined): void {
    const connection = new LiveConnection(ws, facts, authorizer, limits);
    const { connectionId } = facts;
    live.set(connectionId, connection);
    logAt("info", "connected", { connectionId });
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        // API Gateway does not accept binary frames from clients: it closes with 1003.
        connection.close({ code: 1003, reason: "Binary frames are not supported" });
        return;
      }
      connection.touch();
      void track(routeMessage(connection, messageText(data)));
    });
    ws.on("error", (error) => {
      const status = closeStatusOf(error);
      if (status) connection.recordClose(status);
      logAt("warn", "connection error", { connectionId, error: describeError(error) });
    });
    ws.on("close", (code, reason) => {
      connection.stopTimers();
      if (live.get(connectionId) === connection) live.delete(connectionId);
      notifyDisconnect(facts, authorizer, connection.disconnectStatus(code, reason.toString("utf8")));
    });
  }

  async function reply(connection: LiveConnection, data: Buffer | string): Promise<void> {
    if (!connection.open) {
      logAt("info", "reply not sent: connection closed", { connectionId: connection.connectionId });
      return;
    }
    await connection.send(data, typeof data !== "string").catch((error: unknown) => {
      logAt("info", "reply not sent", { connectionId: connection.connectionId, error: describeError(error) });
    });
  }

  async function routeMessage(connection: LiveConnection, body: string): Promise<void> {
    const { connectionId } = connection;
    const requestId = apiGatewayId();
    const route = selectRoute(selectionKey(body), ROUTES);
    if (!route) {
      await reply(connection, gatewayErrorMessage("Forbidden", connectionId, requestId));
      return;
    }
    if (!throttler.take(route.routeKey)) {
      logAt("info", "message throttled", { connectionId, route: route.routeKey });
      await reply(connection, gatewayErrorMessage("Too Many Requests", connectionId, requestId));
      return;
    }
    if (route.mockResponse !== undefined) {
      // A MOCK integration: API Gateway answers from the route's template; nothing is invoked.
      await reply(connection, route.mockResponse);
      return;
    }
    const event = messageEvent(api, connection.facts, connection.authorizer, {
      routeKey: route.routeKey,
      body,
      messageId: apiGatewayId(),
      requestId,
      now: Date.now(),
    });
    let output: unknown;
    try {
      output = await invokeIntegration(route.function, event);
    } catch (error) {
      const timedOut = error instanceof IntegrationTimeoutError;
      logAt("error", "route integration failed", {
        connectionId,
        route: route.routeKey,
        error: describeError(error),
      });
      const message = timedOut ? "Endpoint request timed out" : "Internal server error";
      await reply(connection, gatewayErrorMessage(message, connectionId, requestId));
      return;
    }
    if (!route.twoWay) return;
    const response = routeResponse(output);
    if (response === undefined) return;
    const problem =
      response === "malformed"
        ? "malformed proxy response"
        : messageBytes(response.data) > limits.maxMessageBytes
          ? `${messageBytes(response.data)} bytes exceed ${limits.maxMessageBytes}`
          : undefined;
    if (response === "malformed" || problem !== undefined) {
      logAt("error", "route response not sendable", { connectionId, route: route.routeKey, why: problem });
      await reply(connection, gatewayErrorMessage("Internal server error", connectionId, requestId));
      return;
    }
    await reply(connection, response.data);
  }

  const management = createManagementApi({
    stage,
    maxMessageBytes: limits.maxMessageBytes,
    faults,
    connection: (connectionId) => live.get(connectionId),
    log: logAt,
  });

  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const target = parseHttpTarget(new URL(request.url ?? "/", "http://gateway.invalid").pathname, stage);
    if (target.kind === "connection") {
      void track(
        management(request, response, target.connectionId).catch((error: unknown) => {
          logAt("error", "@connections request failed", { error: describeError(error) });
          if (!response.headersSent) answerError(response, AWS_ERRORS.integrationFailure);
        }),
      );
      return;
    }
    request.resume();
    answerError(response, target.kind === "stage" ? AWS_ERRORS.upgradeRequired : AWS_ERRORS.forbidden);
  });

  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", (error) => logAt("info", "client socket error", { error: describeError(error) }));
    void track(
      acceptUpgrade(request, socket, head).catch((error: unknown) => {
        logAt("error", "upgrade failed", { error: describeError(error) });
        refuseUpgrade(socket, AWS_ERRORS.integrationFailure);
      }),
    );
  });

  async function shutDown(): Promise<void> {
    for (const socket of handshakes) socket.destroy();
    await Promise.all(
      [...live.values()].map((connection) => connection.closeAndWait(GOING_AWAY, CLOSE_GRACE_MS)),
    );
    // Integrations still running ($disconnect of the closes above included) finish first.
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  const base = `${host}:${port}/${stage}`;
  return {
    url: `ws://${base}`,
    managementEndpoint: `http://${base}`,
    port,
    faults,
    limits,
    connections: () => [...live.values()].filter((connection) => connection.open).map((c) => c.info()),
    close: () => {
      closing ??= shutDown();
      return closing;
    },
  };
}
