import { z } from "zod";
import { MAX_RUNS_WATCHER_GRANTS, TRACE_ID_PATTERN } from "../../protocol/index.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";

/**
 * Verifies a token's signature and registered claims; resolves to its payload. Throws
 * InvalidTokenError when the token is bad, anything else when it could not be checked.
 */
export type TokenVerifier = (token: string) => Promise<Record<string, unknown>>;

/** The token is malformed, badly signed, expired or has the wrong claims: a final 401. */
export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
  /** A code safe to log (jose's error code, or ours for the OIDC claim checks); never the token. */
  readonly code: string;
  constructor(code: string, options?: { cause: unknown }) {
    super(`invalid token (${code})`, options);
    this.code = code;
  }
}

/**
 * Tokens could not be checked at all (the JWKS or Secrets Manager unreachable, a key that is not
 * usable). Thrown with a message other than "Unauthorized", so API Gateway answers 500, which
 * clients retry, instead of a 401 they must treat as final.
 */
export class AuthorizerUnavailableError extends Error {
  override readonly name = "AuthorizerUnavailableError";
  constructor(options: { cause: unknown }) {
    super("token verification is unavailable", options);
  }
}

/** The request fields the authorizer reads (API Gateway's WebSocket REQUEST authorizer event). */
export interface AuthorizerRequest {
  readonly methodArn: string;
  readonly queryStringParameters?: Record<string, string | undefined> | null;
}

export interface AuthorizerPolicy {
  principalId: string;
  policyDocument: {
    Version: "2012-10-17";
    Statement: [{ Action: "execute-api:Invoke"; Effect: "Allow" | "Deny"; Resource: string }];
  };
  /** Values reach the connect function as `requestContext.authorizer` (strings only). */
  context: Record<string, string>;
}

/**
 * API Gateway answers 401 when the authorizer fails with exactly this message, 403 for a Deny
 * policy and 500 for anything else; so a bad token throws this, a wrong trace returns Deny, and a
 * verifier that cannot work throws AuthorizerUnavailableError.
 */
export const UNAUTHORIZED = "Unauthorized";

const TracesClaim = z.array(z.string().min(1).max(129)).max(1000);

/** True when a `traces` claim entry grants the trace: exact id, or a prefix ending in `*`. */
export function traceAllowed(grants: readonly string[], traceId: string): boolean {
  return grants.some((grant) =>
    grant.endsWith("*") ? traceId.startsWith(grant.slice(0, -1)) : grant === traceId,
  );
}

function policy(
  effect: "Allow" | "Deny",
  principalId: string,
  resource: string,
  context: Record<string, string>,
) {
  return {
    principalId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: resource }],
    },
    context,
  } satisfies AuthorizerPolicy;
}

export function makeAuthorizer(deps: { verify: TokenVerifier; log: Log; metrics: MetricsPort }) {
  return async function authorize(request: AuthorizerRequest): Promise<AuthorizerPolicy> {
    const query = request.queryStringParameters ?? {};
    const token = query.token;
    const traceId = query.traceId ?? "";
    if (!token) {
      deps.log.info("connection refused", { reason: "missing_token" });
      throw new Error(UNAUTHORIZED);
    }
    let claims: Record<string, unknown>;
    try {
      claims = await deps.verify(token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) {
        // An outage, not a verdict on the token: fail as a server error, loudly (alarmed metric).
        deps.metrics.count("AuthorizerFailures");
        deps.log.error("token verification unavailable", describeFailure(error));
        throw new AuthorizerUnavailableError({ cause: error });
      }
      // The reason is a code (expired, bad signature, ...): never the token itself.
      deps.log.info("connection refused", { reason: "invalid_token", code: error.code });
      throw new Error(UNAUTHORIZED);
    }
    const subject = typeof claims.sub === "string" ? claims.sub : "anonymous";
    const grants = TracesClaim.safeParse(claims.traces ?? []);
    if (!grants.success) {
      deps.log.info("connection refused", { reason: "malformed_traces_claim", sub: subject });
      throw new Error(UNAUTHORIZED);
    }
    if (query.runs !== undefined) {
      // The runs list: the connect function lists only the runs these grants allow, so they
      // travel in the context (strings only, and bounded: each one is a filter term of each list).
      if (query.runs !== "1" || query.traceId !== undefined) {
        return policy("Allow", subject, request.methodArn, { traceId: "", sub: subject });
      }
      if (grants.data.length === 0 || grants.data.length > MAX_RUNS_WATCHER_GRANTS) {
        deps.log.info("connection refused", {
          reason: "runs_grants",
          sub: subject,
          grants: grants.data.length,
        });
        return policy("Deny", subject, request.methodArn, {});
      }
      return policy("Allow", subject, request.methodArn, {
        runs: "1",
        grants: JSON.stringify(grants.data),
        sub: subject,
      });
    }
    if (!TRACE_ID_PATTERN.test(traceId)) {
      // Not a trace at all: let the connect function answer 400, which says more than a 403.
      return policy("Allow", subject, request.methodArn, { traceId: "", sub: subject });
    }
    if (!traceAllowed(grants.data, traceId)) {
      deps.log.info("connection refused", { reason: "trace_not_allowed", sub: subject, traceId });
      return policy("Deny", subject, request.methodArn, {});
    }
    return policy("Allow", subject, request.methodArn, { traceId, sub: subject });
  };
}

/** Name, message and code of an error and its causes: what the SDK and jose put there, no token. */
function describeFailure(error: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 3; depth++) {
    const prefix = depth === 0 ? "error" : `cause${depth}`;
    fields[prefix] = `${current.name}: ${current.message}`;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") fields[`${prefix}Code`] = code;
    current = current.cause;
  }
  if (!(error instanceof Error)) fields.error = String(error);
  return fields;
}
