import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createRemoteJWKSet, type JWTPayload, errors as jose, jwtVerify } from "jose";
import { ConfigError } from "../shared/config.js";
import { InvalidTokenError, type TokenVerifier } from "./authorizer.js";
import { MIN_SECRET_LENGTH } from "./token.js";
import {
  checkTokenLifetime,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  TokenLifetimeError,
} from "./token-lifetime.js";

const CLOCK_TOLERANCE_SECONDS = 5;

interface ClaimChecks {
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  /** Longest `exp - iat` accepted. @default DEFAULT_MAX_TOKEN_LIFETIME_SECONDS */
  readonly maxLifetimeSeconds?: number | undefined;
}

/** What an OIDC token must carry. */
export interface OidcClaimChecks {
  readonly issuer: string;
  /** Required: in `aud`, or (Cognito access tokens, which carry no `aud`) in `client_id`. */
  readonly audience: string;
  /** Required value of `token_use` when a token has one (Cognito: "access" or "id"). */
  readonly tokenUse: OidcTokenUse;
  /** Longest `exp - iat` accepted. @default DEFAULT_MAX_TOKEN_LIFETIME_SECONDS */
  readonly maxLifetimeSeconds?: number | undefined;
}

export type OidcTokenUse = "access" | "id";
export const OIDC_TOKEN_USES: readonly OidcTokenUse[] = ["access", "id"];

/**
 * jose errors that say the token itself is bad (malformed, badly signed, expired, wrong claims, a
 * key id the issuer does not publish). Anything else (the JWKS unreachable, slow or garbled, Secrets
 * Manager failing) is the authorizer's own trouble and must not read as a refusal.
 */
const TOKEN_ERRORS = [
  jose.JWTExpired,
  jose.JWTClaimValidationFailed,
  jose.JWTInvalid,
  jose.JWSInvalid,
  jose.JWSSignatureVerificationFailed,
  jose.JOSEAlgNotAllowed,
  jose.JOSENotSupported,
  jose.JWKSNoMatchingKey,
  jose.JWKSMultipleMatchingKeys,
] as const;

/**
 * Runs a jose verification, then the lifetime rules (token-lifetime.ts), turning token errors into
 * InvalidTokenError and rethrowing the rest.
 */
async function verifying(
  run: () => Promise<{ payload: JWTPayload }>,
  maxLifetimeSeconds = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
): Promise<Record<string, unknown>> {
  try {
    const payload = (await run()).payload as Record<string, unknown>;
    checkTokenLifetime(payload, Date.now() / 1000, maxLifetimeSeconds);
    return payload;
  } catch (error) {
    if (error instanceof TokenLifetimeError) throw new InvalidTokenError(error.code, { cause: error });
    if (TOKEN_ERRORS.some((type) => error instanceof type)) {
      throw new InvalidTokenError((error as jose.JOSEError).code, { cause: error });
    }
    throw error;
  }
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
    return verifying(
      () => jwtVerify(token, key, { algorithms: ["HS256"], ...checks(claims) }),
      claims.maxLifetimeSeconds,
    );
  };
}

/**
 * The audience and token use of an OIDC token. Cognito access tokens name their app client in
 * `client_id` and have no `aud`; every other token must list the audience in `aud`.
 */
function checkOidcClaims(payload: Record<string, unknown>, claims: OidcClaimChecks): void {
  const tokenUse = payload.token_use;
  if (tokenUse !== undefined && tokenUse !== claims.tokenUse) {
    throw new InvalidTokenError("ERR_TOKEN_USE");
  }
  const aud = payload.aud;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (audiences.includes(claims.audience)) return;
  if (aud === undefined && tokenUse === "access" && payload.client_id === claims.audience) return;
  throw new InvalidTokenError("ERR_AUDIENCE");
}

/** An OIDC issuer's keys (e.g. Cognito): asymmetric algorithms only; issuer and audience required. */
export function jwksVerifier(jwksUrl: string, claims: OidcClaimChecks): TokenVerifier {
  const keySet = createRemoteJWKSet(new URL(jwksUrl));
  return async (token) => {
    const payload = await verifying(
      () =>
        jwtVerify(token, keySet, {
          algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
          ...checks({ issuer: claims.issuer }),
        }),
      claims.maxLifetimeSeconds,
    );
    checkOidcClaims(payload, claims);
    return payload;
  };
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
