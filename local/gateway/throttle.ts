import {
  checkRouteThrottle,
  type RouteKey,
  type RouteThrottle,
  routeThrottle,
  type StageThrottle,
} from "../../lib/routes.js";

/**
 * API Gateway's stage throttling: one token bucket per route, shared by every connection, holding
 * at most `burstLimit` tokens and refilled at `rateLimit` per second. A request that finds the
 * bucket empty is refused ("Too Many Requests"; 429 on `$connect`) and never reaches its
 * integration.
 */
export class StageThrottler {
  readonly #throttle: StageThrottle;
  readonly #now: () => number;
  readonly #buckets = new Map<RouteKey, { tokens: number; at: number; limit: RouteThrottle }>();

  constructor(throttle: StageThrottle, now: () => number = Date.now) {
    checkRouteThrottle(throttle.default, "throttle.default");
    for (const [route, limit] of Object.entries(throttle.routes)) {
      if (limit) checkRouteThrottle(limit, `throttle.routes.${route}`);
    }
    this.#throttle = throttle;
    this.#now = now;
  }

  /** Takes a token for one request on the route; false when the route is over its limit. */
  take(routeKey: RouteKey): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(routeKey);
    if (bucket === undefined) {
      const limit = routeThrottle(this.#throttle, routeKey);
      bucket = { tokens: limit.burstLimit, at: now, limit };
      this.#buckets.set(routeKey, bucket);
    }
    const { rateLimit, burstLimit } = bucket.limit;
    bucket.tokens = Math.min(burstLimit, bucket.tokens + ((now - bucket.at) / 1000) * rateLimit);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
