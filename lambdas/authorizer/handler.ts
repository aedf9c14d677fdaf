import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { secretsClient } from "../shared/aws-clients.js";
import { ConfigError, type EnvRecord, optionalString, positiveInteger } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { createTelemetry } from "../shared/telemetry.js";
import { makeAuthorizer, type TokenVerifier } from "./authorizer.js";
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from "./token-lifetime.js";
import {
  hs256Verifier,
  jwksVerifier,
  OIDC_TOKEN_USES,
  type OidcTokenUse,
  secretsManagerSecret,
} from "./verifier.js";

function tokenUseFromEnv(env: EnvRecord): OidcTokenUse {
  const value = optionalString(env, ENV.jwtTokenUse) ?? "access";
  if (!(OIDC_TOKEN_USES as readonly string[]).includes(value)) {
    throw new ConfigError(`${ENV.jwtTokenUse} must be "access" or "id", got "${value}".`);
  }
  return value as OidcTokenUse;
}

/** Picks the verifier from the environment: JWKS (OIDC), a Secrets Manager secret, or a plain secret. */
export function verifierFromEnv(env: EnvRecord): TokenVerifier {
  const issuer = optionalString(env, ENV.jwtIssuer);
  const audience = optionalString(env, ENV.jwtAudience);
  const maxLifetimeSeconds = positiveInteger(
    env,
    ENV.jwtMaxLifetimeSeconds,
    DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  );
  const jwksUrl = optionalString(env, ENV.jwksUrl);
  if (jwksUrl) {
    if (!issuer)
      throw new ConfigError(`Set ${ENV.jwtIssuer}: tokens from ${ENV.jwksUrl} are checked against it.`);
    if (!audience) {
      throw new ConfigError(
        `Set ${ENV.jwtAudience}: tokens from ${ENV.jwksUrl} must name it (an issuer signs tokens for many audiences).`,
      );
    }
    return jwksVerifier(jwksUrl, { issuer, audience, tokenUse: tokenUseFromEnv(env), maxLifetimeSeconds });
  }
  const secretArn = optionalString(env, ENV.jwtSecretArn);
  if (secretArn)
    return hs256Verifier(secretsManagerSecret(secretsClient(env), secretArn), {
      issuer,
      audience,
      maxLifetimeSeconds,
    });
  const secret = optionalString(env, ENV.jwtSecret);
  if (secret) return hs256Verifier(async () => secret, { issuer, audience, maxLifetimeSeconds });
  throw new ConfigError(
    `Set ${ENV.jwksUrl}, ${ENV.jwtSecretArn} or ${ENV.jwtSecret}: the authorizer needs a key.`,
  );
}

export function createHandler(env: EnvRecord) {
  const { log, metrics } = createTelemetry(env, "authorizer");
  const authorize = makeAuthorizer({ verify: verifierFromEnv(env), log, metrics });
  return async (event: APIGatewayRequestAuthorizerEvent) => {
    try {
      return await authorize(event);
    } finally {
      metrics.flush();
    }
  };
}
