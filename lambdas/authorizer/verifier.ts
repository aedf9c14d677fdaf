import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { ConfigError } from "../shared/config.js";
import type { TokenVerifier } from "./authorizer.js";
import { MIN_SECRET_LENGTH } from "./token.js";
import { checkTokenLifetime, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from "./token-lifetime.js";
import { checkTokenUse } from "./token-use.js";

const CLOCK_TOLERANCE_SECONDS = 5;

interface ClaimChecks {
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** Longest `exp - iat` accepted. @default DEFAULT_MAX_TOKEN_LIFETIME_SECONDS */
  readonly maxLifetimeSeconds?: number | undefined;
  /** Required `token_use` claim (Cognito: "id" or "access"). @default - not checked */
  readonly tokenUse?: string | undefined;
}

function checks(claims: ClaimChecks) {
  return {
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["exp", "iat"],
    ...(claims.issuer ? { issuer: claims.issuer } : {}),
    ...(claims.audience ? { audience: claims.audience } : {}),
  };
}

function secretKey(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`the JWT secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return new TextEncoder().encode(secret);
}

/** HS256 with a shared secret. Only HS256 is accepted: `alg: none` and others fail. */
export function hs256Verifier(loadSecret: () => Promise<string>, claims: ClaimChecks): TokenVerifier {
  return async (token) => {
    const key = secretKey(await loadSecret());
    const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], ...checks(claims) });
    return checkedClaims(payload, claims);
  };
}

/** An OIDC issuer's keys (e.g. Cognito): asymmetric algorithms only, issuer required. */
export function jwksVerifier(jwksUrl: string, claims: ClaimChecks & { issuer: string }): TokenVerifier {
  const keySet = createRemoteJWKSet(new URL(jwksUrl));
  return async (token) => {
    const { payload } = await jwtVerify(token, keySet, {
      algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
      ...checks(claims),
    });
    return checkedClaims(payload, claims);
  };
}

/** The payload, once it passes the lifetime rules (token-lifetime.ts) and names the right token_use. */
function checkedClaims(payload: Record<string, unknown>, claims: ClaimChecks): Record<string, unknown> {
  const max = claims.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  checkTokenLifetime(payload, Date.now() / 1000, max);
  checkTokenUse(payload, claims.tokenUse);
  return payload;
}

const SECRET_CACHE_MS = 5 * 60 * 1000;

/** Reads the secret from Secrets Manager and keeps it for five minutes, so rotation takes effect. */
export function secretsManagerSecret(client: SecretsManagerClient, secretId: string): () => Promise<string> {
  let cached: { value: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.value;
    const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!result.SecretString) throw new ConfigError(`secret ${secretId} has no string value`);
    cached = { value: result.SecretString, until: Date.now() + SECRET_CACHE_MS };
    return cached.value;
  };
}
