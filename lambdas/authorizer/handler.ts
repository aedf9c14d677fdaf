import type { APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { secretsClient } from "../shared/aws-clients.js";
import { ConfigError, type EnvRecord, optionalString, positiveInteger } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import { createTelemetry } from "../shared/telemetry.js";
import { makeAuthorizer, type TokenVerifier } from "./authorizer.js";
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from "./token-lifetime.js";
import { hs256Verifier, jwksVerifier, secretsManagerSecret } from "./verifier.js";

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
    const tokenUse = optionalString(env, ENV.jwtTokenUse);
    return jwksVerifier(jwksUrl, { issuer, audience, maxLifetimeSeconds, tokenUse });
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
  const { log } = createTelemetry(env, "authorizer");
  const authorize = makeAuthorizer({ verify: verifierFromEnv(env), log });
  return (event: APIGatewayRequestAuthorizerEvent) => authorize(event);
}
