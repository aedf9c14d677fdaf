import { SignJWT } from "jose";

/** Shortest HS256 secret accepted: 256 bits, as RFC 7518 §3.2 requires of the key. */
export const MIN_SECRET_LENGTH = 32;

export interface MintTokenOptions {
  /** HS256 secret shared with the authorizer. */
  readonly secret: string;
  /** Trace ids the token may watch; an entry ending in `*` is a prefix (`"run-*"`, `"*"`). */
  readonly traces: readonly string[];
  /** Lifetime in seconds. @default 3600 */
  readonly ttlSeconds?: number | undefined;
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
  let jwt = new SignJWT({ traces: [...options.traces] })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.subject ?? "trace-stream-dev")
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds));
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
