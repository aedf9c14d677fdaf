import { randomUUID } from "node:crypto";
import { type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { apiGatewayId } from "./aws-ids.js";

/**
 * Every error API Gateway answers, in one place: status, `x-amzn-ErrorType` (the AWS SDK maps it
 * to an exception class) and body. The @connections errors are those of the API Gateway
 * Management API model (the SDK throws GoneException, PayloadTooLargeException,
 * LimitExceededException, ForbiddenException); the upgrade errors are API Gateway's gateway
 * responses (UNAUTHORIZED, ACCESS_DENIED, AUTHORIZER_CONFIGURATION_ERROR, INTEGRATION_FAILURE...).
 */
export const AWS_ERRORS = {
  /** The connection id is unknown or closed. AWS sends an empty body with this one. */
  gone: { status: 410, type: "GoneException", body: "" },
  payloadTooLarge: { status: 413, type: "PayloadTooLargeException", body: '{"message":"Message too long"}' },
  /** The SDK models @connections throttling (429) as LimitExceededException and retries it. */
  throttled: { status: 429, type: "LimitExceededException", body: '{"message":"Rate exceeded"}' },
  forbidden: { status: 403, type: "ForbiddenException", body: '{"message":"Forbidden"}' },
  /** A `$connect` over the stage's route throttle. */
  tooManyRequests: { status: 429, type: "TooManyRequestsException", body: '{"message":"Too Many Requests"}' },
  missingAuthenticationToken: {
    status: 403,
    type: "MissingAuthenticationTokenException",
    body: '{"message":"Missing Authentication Token"}',
  },
  unauthorized: { status: 401, type: "UnauthorizedException", body: '{"message":"Unauthorized"}' },
  explicitDeny: {
    status: 403,
    type: "AccessDeniedException",
    body: '{"Message":"User is not authorized to access this resource with an explicit deny"}',
  },
  implicitDeny: {
    status: 403,
    type: "AccessDeniedException",
    body: '{"Message":"User is not authorized to access this resource"}',
  },
  authorizerFailure: { status: 500, type: "AuthorizerConfigurationException", body: '{"message": null}' },
  integrationFailure: {
    status: 502,
    type: "InternalServerErrorException",
    body: '{"message": "Internal server error"}',
  },
  integrationTimeout: {
    status: 504,
    type: "IntegrationTimeout",
    body: '{"message": "Endpoint request timed out"}',
  },
  upgradeRequired: { status: 426, type: "BadRequestException", body: '{"message":"Upgrade Required"}' },
} as const;

export interface AwsError {
  readonly status: number;
  /** `x-amzn-ErrorType`; absent when the body is an integration's own response. */
  readonly type?: string;
  readonly body: string;
}

function awsHeaders(type: string | undefined, body: string): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(body)),
    "x-amzn-RequestId": randomUUID(),
    "x-amz-apigw-id": apiGatewayId(),
    ...(type ? { "x-amzn-ErrorType": type } : {}),
  };
}

/** Answers an HTTP request (the @connections API) with an AWS error or a success. */
export function answer(response: ServerResponse, status: number, body = "", errorType?: string): void {
  if (status === 204) {
    const { "Content-Type": _type, "Content-Length": _length, ...headers } = awsHeaders(errorType, body);
    response.writeHead(status, headers).end();
    return;
  }
  response.writeHead(status, awsHeaders(errorType, body)).end(body);
}

export function answerError(response: ServerResponse, error: AwsError): void {
  answer(response, error.status, error.body, error.type);
}

/**
 * Refuses a WebSocket upgrade with a plain HTTP response (clients see "Unexpected server
 * response: N"), then closes the socket.
 */
export function refuseUpgrade(socket: Duplex, error: AwsError): void {
  if (socket.destroyed) return;
  const headers = { ...awsHeaders(error.type, error.body), Connection: "close" };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n${head}\r\n${error.body}`);
}

/**
 * The message API Gateway sends to a client when a route's integration fails (or no route
 * matches): `{"message": "Internal server error", "connectionId":"...", "requestId":"..."}`,
 * spacing included.
 */
export function gatewayErrorMessage(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}
