import { z } from "zod";
import { TRACE_ID_PATTERN } from "../../protocol/index.js";
import type { Log } from "../shared/telemetry.js";

/** Verifies a token's signature and registered claims; resolves to its payload or throws. */
export type TokenVerifier = (token: string) => Promise<Record<string, unknown>>;

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
 * policy and 500 for anything else; so a bad token throws this, a wrong trace returns Deny.
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

export function makeAuthorizer(deps: { verify: TokenVerifier; log: Log }) {
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
      // The reason is jose's error code (expired, bad signature, ...): never the token itself.
      deps.log.info("connection refused", {
        reason: "invalid_token",
        code: (error as { code?: string }).code,
      });
      throw new Error(UNAUTHORIZED);
    }
    const subject = typeof claims.sub === "string" ? claims.sub : "anonymous";
    const grants = TracesClaim.safeParse(claims.traces ?? []);
    if (!grants.success) {
      deps.log.info("connection refused", { reason: "malformed_traces_claim", sub: subject });
      throw new Error(UNAUTHORIZED);
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
