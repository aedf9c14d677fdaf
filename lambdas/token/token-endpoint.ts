import {
  grantCovers,
  isTraceGrant,
  MAX_TRACES_PER_TOKEN,
  MIN_TOKEN_TTL_SECONDS,
  type TokenGrantRules,
  type TokenIssued,
} from "../../protocol/token-api.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import { grantsOf } from "./caller-grants.js";

/** Lifetime of a token when the caller names none. */
export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60;
/** Longest lifetime a caller may ask for unless the deployer sets another (at most the authorizer's cap). */
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 60 * 60;

/** What the endpoint reads of a request: who signed it (API Gateway's IAM authorizer) and the query. */
export interface TokenRequest {
  /** The caller's ARN; undefined when the request reached the function without IAM authorization. */
  readonly callerArn: string | undefined;
  /** The query string as sent (`traceId=a&traceId=b*&ttlSeconds=900`). */
  readonly rawQueryString: string;
}

export type TokenResult =
  | { readonly statusCode: 200; readonly body: TokenIssued }
  | { readonly statusCode: 400 | 403 | 500; readonly body: { readonly message: string } };

export interface TokenLifetimes {
  /** Lifetime when the caller names none. */
  readonly defaultTtlSeconds: number;
  /** Longest lifetime a caller may ask for (at most the authorizer's cap). */
  readonly maxTtlSeconds: number;
}

/** Signs a viewer token; the adapter holds the key and the `iss`/`aud` the authorizer expects. */
export type MintPort = (claims: {
  readonly subject: string;
  readonly traces: readonly string[];
  readonly ttlSeconds: number;
  /** Epoch milliseconds. */
  readonly now: number;
}) => Promise<string>;

export interface TokenEndpointDeps {
  readonly rules: TokenGrantRules;
  readonly lifetimes: TokenLifetimes;
  readonly mint: MintPort;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
}

const PARAMETERS = new Set(["traceId", "ttlSeconds"]);

class BadRequest extends Error {}

interface Wanted {
  readonly traces: string[];
  readonly ttlSeconds: number;
}

function parseQuery(rawQueryString: string, lifetimes: TokenLifetimes): Wanted {
  const query = new URLSearchParams(rawQueryString);
  for (const name of new Set(query.keys())) {
    if (!PARAMETERS.has(name))
      throw new BadRequest(`unknown parameter "${name}": use traceId and ttlSeconds`);
  }
  const traces = [...new Set(query.getAll("traceId"))];
  if (traces.length === 0) {
    throw new BadRequest(
      "traceId is required: GET /token?traceId=T (repeat it, or end it with * for a prefix, to name several traces)",
    );
  }
  if (traces.length > MAX_TRACES_PER_TOKEN) {
    throw new BadRequest(`at most ${MAX_TRACES_PER_TOKEN} traceId values per token, got ${traces.length}`);
  }
  const malformed = traces.find((trace) => !isTraceGrant(trace));
  if (malformed !== undefined) {
    throw new BadRequest(
      `traceId ${JSON.stringify(malformed.slice(0, 140))} is neither a trace id (1-128 characters of A-Za-z0-9._:/-) nor a prefix of one ending in *`,
    );
  }
  const ttlValues = query.getAll("ttlSeconds");
  if (ttlValues.length > 1) throw new BadRequest("ttlSeconds may be given once");
  const ttlText = ttlValues[0];
  const range = `from ${MIN_TOKEN_TTL_SECONDS} to ${lifetimes.maxTtlSeconds}`;
  if (ttlText === undefined) return { traces, ttlSeconds: lifetimes.defaultTtlSeconds };
  const ttlSeconds = /^\d{1,7}$/.test(ttlText) ? Number(ttlText) : Number.NaN;
  if (!(ttlSeconds >= MIN_TOKEN_TTL_SECONDS && ttlSeconds <= lifetimes.maxTtlSeconds)) {
    throw new BadRequest(
      `ttlSeconds must be a whole number of seconds ${range}, got ${JSON.stringify(ttlText.slice(0, 20))}`,
    );
  }
  return { traces, ttlSeconds };
}

/**
 * `GET /token`: a short-lived viewer token for the traces the caller asks for, when the token
 * policy grants the caller every one of them. The caller is whoever signed the request (API
 * Gateway checked the SigV4 signature and the caller's `execute-api:Invoke` permission); the
 * policy decides what that caller may watch; the lifetime is capped.
 */
export function makeTokenEndpoint(deps: TokenEndpointDeps) {
  const refuse = (statusCode: 400 | 403, message: string, fields: Record<string, unknown>): TokenResult => {
    deps.metrics.count("TokensRefused");
    deps.log.info("token refused", { status: statusCode, ...fields });
    return { statusCode, body: { message } };
  };

  return async function issueToken(request: TokenRequest): Promise<TokenResult> {
    const caller = request.callerArn;
    if (caller === undefined || caller === "") {
      // Only a route deployed without IAM authorization gets here: fail closed and say so.
      deps.log.error("token request without an IAM caller: the route must use IAM authorization");
      return { statusCode: 500, body: { message: "the token endpoint is misconfigured" } };
    }
    let wanted: Wanted;
    try {
      wanted = parseQuery(request.rawQueryString, deps.lifetimes);
    } catch (error) {
      if (error instanceof BadRequest) return refuse(400, error.message, { caller, reason: "bad_request" });
      throw error;
    }
    const held = grantsOf(deps.rules, caller);
    if (held.length === 0) {
      return refuse(403, `no grant of the token policy names this caller (${caller})`, {
        caller,
        reason: "no_grant",
        traces: wanted.traces,
      });
    }
    const denied = wanted.traces.filter((trace) => !grantCovers(held, trace));
    if (denied.length > 0) {
      return refuse(403, `this caller may not watch: ${denied.join(", ")}`, {
        caller,
        reason: "trace_not_granted",
        traces: denied,
      });
    }
    const now = deps.now();
    const token = await deps.mint({
      subject: caller,
      traces: wanted.traces,
      ttlSeconds: wanted.ttlSeconds,
      now,
    });
    const expiresAt = new Date((Math.floor(now / 1000) + wanted.ttlSeconds) * 1000).toISOString();
    deps.metrics.count("TokensIssued");
    deps.log.info("token issued", { caller, traces: wanted.traces, ttlSeconds: wanted.ttlSeconds });
    return {
      statusCode: 200,
      body: { token, traces: wanted.traces, expiresInSeconds: wanted.ttlSeconds, expiresAt },
    };
  };
}
