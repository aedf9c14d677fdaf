import type { IncomingMessage } from "node:http";
import { requestTime } from "./aws-ids.js";

/** The API a connection belongs to: fixed for the gateway's lifetime. */
export interface ApiFacts {
  readonly apiId: string;
  readonly stage: string;
  readonly region: string;
  readonly accountId: string;
  /** host:port, as API Gateway's `domainName` (the local endpoint has a port). */
  readonly domainName: string;
}

/** What API Gateway knows of a connection from its upgrade request. */
export interface ConnectionFacts {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string | null;
}

/** The upgrade request's headers and query string, in the event's single- and multi-value forms. */
export interface UpgradeRequestFacts {
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string>;
  readonly multiValueQueryStringParameters: Record<string, string[]>;
}

/** API Gateway's identity block: every field but the caller's address and agent is null here. */
export interface WebSocketIdentity {
  readonly cognitoIdentityPoolId: null;
  readonly cognitoIdentityId: null;
  readonly principalOrgId: null;
  readonly cognitoAuthenticationType: null;
  readonly userArn: null;
  readonly userAgent: string | null;
  readonly accountId: null;
  readonly caller: null;
  readonly sourceIp: string;
  readonly accessKey: null;
  readonly cognitoAuthenticationProvider: null;
  readonly user: null;
}

/** `requestContext.authorizer`: the policy's context values (strings), principalId and latency. */
export type AuthorizerContext = Readonly<Record<string, string | number>>;

export interface WebSocketRequestContext {
  readonly routeKey: string;
  readonly eventType: "CONNECT" | "MESSAGE" | "DISCONNECT";
  readonly messageId?: string;
  readonly extendedRequestId: string;
  readonly requestTime: string;
  readonly messageDirection: "IN";
  readonly stage: string;
  readonly connectedAt: number;
  readonly requestTimeEpoch: number;
  readonly identity: WebSocketIdentity;
  readonly requestId: string;
  readonly domainName: string;
  readonly connectionId: string;
  readonly apiId: string;
  readonly authorizer?: AuthorizerContext;
  readonly disconnectStatusCode?: number;
  readonly disconnectReason?: string;
}

/** The Lambda proxy event of a WebSocket route ($connect, $disconnect, custom routes, $default). */
export interface WebSocketEvent {
  readonly requestContext: WebSocketRequestContext;
  readonly headers?: Record<string, string>;
  readonly multiValueHeaders?: Record<string, string[]>;
  readonly queryStringParameters?: Record<string, string> | undefined;
  readonly multiValueQueryStringParameters?: Record<string, string[]> | undefined;
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/** The event of a Lambda REQUEST authorizer on `$connect`. */
export interface RequestAuthorizerEvent {
  readonly type: "REQUEST";
  readonly methodArn: string;
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string>;
  readonly multiValueQueryStringParameters: Record<string, string[]>;
  readonly stageVariables: Record<string, string>;
  readonly requestContext: WebSocketRequestContext;
}

export function connectMethodArn(api: ApiFacts): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/$connect`;
}

function identity(connection: ConnectionFacts): WebSocketIdentity {
  return {
    cognitoIdentityPoolId: null,
    cognitoIdentityId: null,
    principalOrgId: null,
    cognitoAuthenticationType: null,
    userArn: null,
    userAgent: connection.userAgent,
    accountId: null,
    caller: null,
    sourceIp: connection.sourceIp,
    accessKey: null,
    cognitoAuthenticationProvider: null,
    user: null,
  };
}

interface ContextParts {
  readonly routeKey: string;
  readonly eventType: WebSocketRequestContext["eventType"];
  readonly requestId: string;
  readonly now: number;
}

function requestContext(
  api: ApiFacts,
  connection: ConnectionFacts,
  parts: ContextParts,
): WebSocketRequestContext {
  return {
    routeKey: parts.routeKey,
    eventType: parts.eventType,
    extendedRequestId: parts.requestId,
    requestTime: requestTime(parts.now),
    messageDirection: "IN",
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: parts.now,
    identity: identity(connection),
    requestId: parts.requestId,
    domainName: api.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
  };
}

/** API Gateway gives hop-by-hop upgrade headers to the authorizer but not to the integration. */
const AUTHORIZER_ONLY_HEADERS = new Set(["connection", "upgrade", "content-length"]);

function withoutHopHeaders<T>(headers: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !AUTHORIZER_ONLY_HEADERS.has(name.toLowerCase())),
  );
}

function nonEmpty<T>(record: Record<string, T>): Record<string, T> | undefined {
  return Object.keys(record).length > 0 ? record : undefined;
}

export function authorizerEvent(
  api: ApiFacts,
  connection: ConnectionFacts,
  upgrade: UpgradeRequestFacts,
  requestId: string,
  now: number,
): RequestAuthorizerEvent {
  return {
    type: "REQUEST",
    methodArn: connectMethodArn(api),
    headers: upgrade.headers,
    multiValueHeaders: upgrade.multiValueHeaders,
    queryStringParameters: upgrade.queryStringParameters,
    multiValueQueryStringParameters: upgrade.multiValueQueryStringParameters,
    stageVariables: {},
    requestContext: requestContext(api, connection, {
      routeKey: "$connect",
      eventType: "CONNECT",
      requestId,
      now,
    }),
  };
}

export function connectEvent(
  api: ApiFacts,
  connection: ConnectionFacts,
  upgrade: UpgradeRequestFacts,
  authorizer: AuthorizerContext | undefined,
  requestId: string,
  now: number,
): WebSocketEvent {
  const context = requestContext(api, connection, {
    routeKey: "$connect",
    eventType: "CONNECT",
    requestId,
    now,
  });
  return {
    headers: withoutHopHeaders(upgrade.headers),
    multiValueHeaders: withoutHopHeaders(upgrade.multiValueHeaders),
    queryStringParameters: nonEmpty(upgrade.queryStringParameters),
    multiValueQueryStringParameters: nonEmpty(upgrade.multiValueQueryStringParameters),
    requestContext: authorizer ? { ...context, authorizer } : context,
    isBase64Encoded: false,
  };
}

export function messageEvent(
  api: ApiFacts,
  connection: ConnectionFacts,
  authorizer: AuthorizerContext | undefined,
  message: { routeKey: string; body: string; messageId: string; requestId: string; now: number },
): WebSocketEvent {
  const context = requestContext(api, connection, {
    routeKey: message.routeKey,
    eventType: "MESSAGE",
    requestId: message.requestId,
    now: message.now,
  });
  return {
    requestContext: { ...context, messageId: message.messageId, ...(authorizer ? { authorizer } : {}) },
    body: message.body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  api: ApiFacts,
  connection: ConnectionFacts,
  authorizer: AuthorizerContext | undefined,
  close: { statusCode: number; reason: string; requestId: string; now: number },
): WebSocketEvent {
  const context = requestContext(api, connection, {
    routeKey: "$disconnect",
    eventType: "DISCONNECT",
    requestId: close.requestId,
    now: close.now,
  });
  // API Gateway sends these four (mostly empty) headers with $disconnect, and nothing of the
  // upgrade request: the query string and client headers exist on $connect only.
  const headers = { Host: api.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: {
      ...context,
      disconnectStatusCode: close.statusCode,
      disconnectReason: close.reason,
      ...(authorizer ? { authorizer } : {}),
    },
    isBase64Encoded: false,
  };
}

/**
 * Reads the upgrade request as API Gateway presents it: header names as the client wrote them
 * (the last value wins in `headers`), plus the X-Amzn-Trace-Id and X-Forwarded-* it adds.
 */
export function describeUpgradeRequest(
  request: IncomingMessage,
  url: URL,
  added: { sourceIp: string; port: number; traceId: string },
): UpgradeRequestFacts {
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const existing = Object.keys(multiValueHeaders).find((key) => key.toLowerCase() === name.toLowerCase());
    const values = multiValueHeaders[existing ?? name] ?? [];
    values.push(raw[i + 1]!);
    multiValueHeaders[existing ?? name] = values;
  }
  const forwardedFor = Object.keys(multiValueHeaders).find((key) => key.toLowerCase() === "x-forwarded-for");
  const chain = forwardedFor ? multiValueHeaders[forwardedFor]?.at(-1) : undefined;
  if (forwardedFor) delete multiValueHeaders[forwardedFor];
  multiValueHeaders["X-Amzn-Trace-Id"] = [added.traceId];
  multiValueHeaders["X-Forwarded-For"] = [chain ? `${chain}, ${added.sourceIp}` : added.sourceIp];
  multiValueHeaders["X-Forwarded-Port"] = [String(added.port)];
  multiValueHeaders["X-Forwarded-Proto"] = ["http"];

  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    multiValueQueryStringParameters[name] = [...(multiValueQueryStringParameters[name] ?? []), value];
  }
  const last = (record: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(record).map(([name, values]) => [name, values.at(-1) ?? ""]));
  return {
    headers: last(multiValueHeaders),
    multiValueHeaders,
    queryStringParameters: last(multiValueQueryStringParameters),
    multiValueQueryStringParameters,
  };
}
