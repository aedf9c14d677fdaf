import { SignJWT } from "jose";
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from "./token-lifetime.js";

/** Shortest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires of the key. */
export const MIN_SECRET_LENGTH = 32;

export interface MintTokenOptions {
  /** HS256 secret shared with the authorizer. */
  readonly secret: string;
  /** Trace ids the token may watch; an entry ending in `*` is a prefix (`"run-*"`, `"*"`). */
  readonly traces: readonly string[];
  /** Lifetime in seconds, at most `maxTtlSeconds`. @default 3600 */
  readonly ttlSeconds?: number | undefined;
  /**
   * Longest lifetime this call may mint: the authorizer refuses tokens living longer than its cap.
   * @default DEFAULT_MAX_TOKEN_LIFETIME_SECONDS (one day, the authorizer's default cap)
   */
  readonly maxTtlSeconds?: number | undefined;
  /** Issue time, epoch milliseconds. @default Date.now() */
  readonly now?: number | undefined;
  /** `sub` claim: who holds the token. @default "trace-stream-dev" */
  readonly subject?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Mints a viewer token (HS256 JWT with a `traces` claim) the authorizer accepts. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  if (options.secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the JWT secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const ttlSeconds = options.ttlSeconds ?? 3600;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError("ttlSeconds must be positive");
  const maxTtlSeconds = options.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (ttlSeconds > maxTtlSeconds) {
    throw new RangeError(
      `ttlSeconds must be at most ${maxTtlSeconds} (the authorizer refuses longer tokens)`,
    );
  }
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  let jwt = new SignJWT({ traces: [...options.traces] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.subject ?? "trace-stream-dev")
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + Math.ceil(ttlSeconds));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
