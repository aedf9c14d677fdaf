import type { RouteDefinition } from "../../lib/routes.js";

const BODY_PREFIX = "$request.body.";

/** Route keys API Gateway reserves; a message body cannot select them. */
function isReservedRouteKey(routeKey: string): boolean {
  return routeKey.startsWith("$");
}

/**
 * Compiles a route selection expression of the `$request.body.{path}` form, the only form a
 * WebSocket API with JSON messages uses. Throws at startup for any other form, so a typo in the
 * route table cannot silently send every message to `$default`.
 */
export function compileRouteSelection(expression: string): (body: string) => string | undefined {
  if (!expression.startsWith(BODY_PREFIX) || expression.length === BODY_PREFIX.length) {
    throw new Error(
      `Unsupported route selection expression "${expression}": expected ${BODY_PREFIX}{property}.`,
    );
  }
  const path = expression.slice(BODY_PREFIX.length).split(".");
  return (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
    for (const key of path) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return typeof value === "string" ? value : undefined;
  };
}

/**
 * API Gateway's route selection: the value the expression selects, when it names a custom route;
 * otherwise (not JSON, no such property, unknown or reserved key) the `$default` route. Undefined
 * when nothing matches and the API has no `$default` (API Gateway answers "Forbidden").
 */
export function selectRoute(
  selectionKey: string | undefined,
  routes: readonly RouteDefinition[],
): RouteDefinition | undefined {
  const custom =
    selectionKey === undefined || isReservedRouteKey(selectionKey)
      ? undefined
      : routes.find((route) => route.routeKey === selectionKey);
  return custom ?? routes.find((route) => route.routeKey === "$default");
}
