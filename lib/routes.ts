/**
 * The WebSocket route table: read by the CDK construct and by the local API Gateway emulator, so
 * the two cannot disagree about which Lambda answers which message.
 */

export const ROUTE_SELECTION_EXPRESSION = "$request.body.action";

/** The Lambda functions behind the WebSocket API (folder names under `lambdas/`). */
export type RouteFunction = "connect" | "disconnect" | "resume" | "default";

interface RouteBase {
  readonly routeKey: "$connect" | "$disconnect" | "$default" | "ping" | "resume" | "listRuns";
  /** Two-way routes send the integration's response body back to the caller. */
  readonly twoWay: boolean;
  /** `$connect` runs the REQUEST authorizer before the connect function. */
  readonly authorized: boolean;
}

/**
 * A route is answered by a Lambda function, or by API Gateway itself (a MOCK integration with a
 * fixed response: no invocation, no cost beyond the message).
 */
export type RouteDefinition = RouteBase &
  (
    | { readonly function: RouteFunction; readonly mockResponse?: undefined }
    | { readonly mockResponse: string; readonly function?: undefined }
  );

/** A route that a Lambda function answers. */
export type LambdaRoute = RouteDefinition & { readonly function: RouteFunction };

/** The route with this key when a Lambda function answers it. */
export function lambdaRoute(routeKey: RouteDefinition["routeKey"]): LambdaRoute | undefined {
  const route = ROUTES.find((candidate) => candidate.routeKey === routeKey);
  return route?.function === undefined ? undefined : (route as LambdaRoute);
}

/** What the `ping` route answers, from API Gateway's mock integration. */
export const PONG_RESPONSE = '{"type":"pong"}';

export const ROUTES: readonly RouteDefinition[] = [
  { routeKey: "$connect", function: "connect", twoWay: false, authorized: true },
  { routeKey: "$disconnect", function: "disconnect", twoWay: false, authorized: false },
  // The heartbeat: answered by API Gateway itself, so 30 s pings from every viewer invoke nothing.
  { routeKey: "ping", mockResponse: PONG_RESPONSE, twoWay: true, authorized: false },
  // resume answers through @connections (batches, then `synced`), so the order is the post order.
  { routeKey: "resume", function: "resume", twoWay: false, authorized: false },
  // listRuns reads the run index; the resume function answers it (both read the table and post
  // through @connections), so a runs page needs no function of its own.
  { routeKey: "listRuns", function: "resume", twoWay: false, authorized: false },
  { routeKey: "$default", function: "default", twoWay: true, authorized: false },
];

/** A token bucket: `rateLimit` requests per second on average, `burstLimit` at once. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export type RouteKey = RouteDefinition["routeKey"];

/**
 * Throttling of the WebSocket stage, shared by every client: `default` applies to each route
 * (`$connect` included) on its own, and `routes` overrides it for a route. `resume` is the route
 * that reads the table and posts replay pages, so it is tighter than the rest, and `listRuns`
 * (an index query and a batch read per page) tighter still; each connection also has its own
 * budget (RESUME_REQUESTS_PER_WINDOW, RUNS_REQUESTS_PER_WINDOW), so no single client can take the
 * whole stage's.
 */
export interface StageThrottle {
  readonly default: RouteThrottle;
  readonly routes: Readonly<Partial<Record<RouteKey, RouteThrottle>>>;
}

export const DEFAULT_STAGE_THROTTLE: StageThrottle = {
  default: { rateLimit: 200, burstLimit: 400 },
  routes: { resume: { rateLimit: 50, burstLimit: 100 }, listRuns: { rateLimit: 20, burstLimit: 40 } },
};

/** The throttle of one route under a stage throttle. */
export function routeThrottle(throttle: StageThrottle, routeKey: RouteKey): RouteThrottle {
  return throttle.routes[routeKey] ?? throttle.default;
}

/** Throws with the setting's name unless both numbers are positive (burst a whole number). */
export function checkRouteThrottle(throttle: RouteThrottle, name: string): void {
  if (!(throttle.rateLimit > 0))
    throw new Error(`${name}.rateLimit must be positive, got ${throttle.rateLimit}`);
  if (!Number.isInteger(throttle.burstLimit) || throttle.burstLimit <= 0)
    throw new Error(`${name}.burstLimit must be a positive integer, got ${throttle.burstLimit}`);
}

/**
 * Identity sources of the `$connect` authorizer: the token must be present. The trace id is not
 * one: a runs-list connection (`?runs=1`) has none, and a trace connection without one is refused
 * by the connect function (400).
 */
export const AUTHORIZER_IDENTITY_SOURCES = ["route.request.querystring.token"];

/** Query-string parameter names on the connect URL: `traceId` to watch a trace, `runs=1` the runs list. */
export const CONNECT_QUERY = { traceId: "traceId", token: "token", runs: "runs" } as const;
