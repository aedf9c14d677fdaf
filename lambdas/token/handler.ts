import { z } from "zod";
import { TokenGrantRules } from "../../protocol/token-api.js";
import { mintToken } from "../authorizer/token.js";
import { secretsManagerSecret } from "../authorizer/verifier.js";
import { secretsClient } from "../shared/aws-clients.js";
import {
  ConfigError,
  type EnvRecord,
  optionalString,
  positiveInteger,
  requiredString,
} from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { createTelemetry } from "../shared/telemetry.js";
import {
  DEFAULT_MAX_TOKEN_TTL_SECONDS,
  DEFAULT_TOKEN_TTL_SECONDS,
  type MintPort,
  makeTokenEndpoint,
  type TokenLifetimes,
  type TokenResult,
} from "./token-endpoint.js";

/**
 * The fields of an HTTP API (payload format 2.0) event the endpoint reads; a Lambda function URL
 * with AWS_IAM auth sends the same shape.
 */
export interface TokenHttpEvent {
  readonly rawQueryString?: string | null;
  readonly requestContext?: {
    readonly authorizer?: { readonly iam?: { readonly userArn?: string | null } | null } | null;
  } | null;
}

export interface TokenHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The token policy from TOKEN_GRANTS (JSON), checked against the schema at cold start. */
export function grantRulesFromEnv(env: EnvRecord): TokenGrantRules {
  const text = requiredString(env, ENV.tokenGrants, "the token policy (JSON rules of principals and traces)");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${ENV.tokenGrants} is not JSON.`);
  }
  const parsed = TokenGrantRules.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`${ENV.tokenGrants} is not a valid token policy: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export function lifetimesFromEnv(env: EnvRecord): TokenLifetimes {
  const maxTtlSeconds = positiveInteger(env, ENV.tokenMaxTtlSeconds, DEFAULT_MAX_TOKEN_TTL_SECONDS);
  const defaultTtlSeconds = positiveInteger(
    env,
    ENV.tokenDefaultTtlSeconds,
    Math.min(DEFAULT_TOKEN_TTL_SECONDS, maxTtlSeconds),
  );
  if (defaultTtlSeconds > maxTtlSeconds) {
    throw new ConfigError(
      `${ENV.tokenDefaultTtlSeconds} (${defaultTtlSeconds}) must not exceed ${ENV.tokenMaxTtlSeconds} (${maxTtlSeconds}).`,
    );
  }
  return { defaultTtlSeconds, maxTtlSeconds };
}

/** Signs with the HS256 key the authorizer verifies with, and the `iss`/`aud` it requires. */
function mintFromEnv(env: EnvRecord, maxTtlSeconds: number): MintPort {
  const secretArn = optionalString(env, ENV.jwtSecretArn);
  const plain = optionalString(env, ENV.jwtSecret);
  let loadSecret: () => Promise<string>;
  if (secretArn) loadSecret = secretsManagerSecret(secretsClient(env), secretArn);
  else if (plain) loadSecret = async () => plain;
  else
    throw new ConfigError(`Set ${ENV.jwtSecretArn} or ${ENV.jwtSecret}: the token endpoint signs with it.`);
  const issuer = optionalString(env, ENV.jwtIssuer);
  const audience = optionalString(env, ENV.jwtAudience);
  return async ({ subject, traces, ttlSeconds, now }) =>
    mintToken({
      secret: await loadSecret(),
      traces,
      ttlSeconds,
      maxTtlSeconds,
      subject,
      now,
      ...(issuer ? { issuer } : {}),
      ...(audience ? { audience } : {}),
    });
}

function response(result: TokenResult): TokenHttpResponse {
  return {
    statusCode: result.statusCode,
    // A token is a credential: no cache, proxy or browser may keep a copy.
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
    body: JSON.stringify(result.body),
  };
}

export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const { log, metrics } = createTelemetry(env, "token");
  const lifetimes = lifetimesFromEnv(env);
  const issueToken = makeTokenEndpoint({
    rules: grantRulesFromEnv(env),
    lifetimes,
    mint: mintFromEnv(env, lifetimes.maxTtlSeconds),
    log,
    metrics,
    now: runtime.now ?? Date.now,
  });
  return async (event: TokenHttpEvent): Promise<TokenHttpResponse> => {
    try {
      return response(
        await issueToken({
          callerArn: event.requestContext?.authorizer?.iam?.userArn ?? undefined,
          rawQueryString: event.rawQueryString ?? "",
        }),
      );
    } catch (error) {
      // The key could not be read (Secrets Manager throttled or down): worth a retry, never a stack trace.
      log.error("token endpoint failed", { error: error instanceof Error ? error.name : "unknown" });
      return response({ statusCode: 500, body: { message: "the token endpoint failed; try again" } });
    } finally {
      metrics.flush();
    }
  };
}
