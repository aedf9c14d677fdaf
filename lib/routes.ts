/**
 * The WebSocket route table: read by the CDK construct and by the local API Gateway emulator, so
 * the two cannot disagree about which Lambda answers which message.
 */

export const ROUTE_SELECTION_EXPRESSION = "$request.body.action";

/** The Lambda functions behind the WebSocket API (folder names under `lambdas/`). */
export type RouteFunction = "connect" | "disconnect" | "ping" | "resume" | "default";

export interface RouteDefinition {
  readonly routeKey: "$connect" | "$disconnect" | "$default" | "ping" | "resume";
  readonly function: RouteFunction;
  /** Two-way routes send the integration's response body back to the caller. */
  readonly twoWay: boolean;
  /** `$connect` runs the REQUEST authorizer before the connect function. */
  readonly authorized: boolean;
}

export const ROUTES: readonly RouteDefinition[] = [
  { routeKey: "$connect", function: "connect", twoWay: false, authorized: true },
  { routeKey: "$disconnect", function: "disconnect", twoWay: false, authorized: false },
  { routeKey: "ping", function: "ping", twoWay: true, authorized: false },
  // resume answers through @connections (batches, then `synced`), so the order is the post order.
  { routeKey: "resume", function: "resume", twoWay: false, authorized: false },
  { routeKey: "$default", function: "default", twoWay: true, authorized: false },
];

/** Identity sources of the `$connect` authorizer: both query-string values must be present. */
export const AUTHORIZER_IDENTITY_SOURCES = [
  "route.request.querystring.traceId",
  "route.request.querystring.token",
];

/** Query-string parameter names on the connect URL. */
export const CONNECT_QUERY = { traceId: "traceId", token: "token" } as const;
