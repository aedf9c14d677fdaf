/**
 * How long a viewer token may live. A signature proves who minted a token, not that it was minted
 * sensibly: without these checks a token with `exp` in the year 2200, or one whose `iat` claims it
 * was issued tomorrow, is as good as an hour-long one, and a leaked copy can never be outlived.
 */

/** Longest `exp - iat` accepted by default: a day, Cognito's longest ID/access token lifetime. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * How far in the future `iat` may be. Clocks of a laptop and of AWS can disagree by seconds; an
 * `iat` minutes ahead is a token minted to outlive the lifetime cap, not clock drift.
 */
export const IAT_CLOCK_SKEW_SECONDS = 60;

/** A token whose lifetime claims break the rules; `code` is what the authorizer logs. */
export class TokenLifetimeError extends Error {
  override readonly name = "TokenLifetimeError";
  readonly code: "ERR_TOKEN_IAT_MISSING" | "ERR_TOKEN_IAT_IN_FUTURE" | "ERR_TOKEN_LIFETIME_TOO_LONG";
  constructor(code: TokenLifetimeError["code"], message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Checks `iat` and `exp` of a token whose signature, `exp` and `nbf` are already verified: `iat`
 * is present, at most `IAT_CLOCK_SKEW_SECONDS` ahead of `nowSeconds`, and `exp - iat` is at most
 * `maxLifetimeSeconds`.
 */
export function checkTokenLifetime(
  claims: Readonly<Record<string, unknown>>,
  nowSeconds: number,
  maxLifetimeSeconds: number,
): void {
  const { iat, exp } = claims;
  if (typeof iat !== "number" || !Number.isFinite(iat)) {
    throw new TokenLifetimeError("ERR_TOKEN_IAT_MISSING", "the token has no numeric iat claim");
  }
  if (iat > nowSeconds + IAT_CLOCK_SKEW_SECONDS) {
    throw new TokenLifetimeError("ERR_TOKEN_IAT_IN_FUTURE", "the token's iat claim is in the future");
  }
  if (typeof exp !== "number" || exp - iat > maxLifetimeSeconds) {
    throw new TokenLifetimeError(
      "ERR_TOKEN_LIFETIME_TOO_LONG",
      `the token lives longer than ${maxLifetimeSeconds} s (exp - iat)`,
    );
  }
}
