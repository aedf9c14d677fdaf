/**
 * Which kind of OIDC token the authorizer takes. Cognito signs ID tokens (`token_use: "id"`, `aud`
 * = the app client) and access tokens (`token_use: "access"`, no `aud`) with the same keys: naming
 * the kind keeps one from standing in for the other.
 */
export class TokenUseError extends Error {
  override readonly name = "TokenUseError";
  readonly code = "ERR_TOKEN_USE";
}

/** Throws unless `expected` is undefined or the token's `token_use` claim equals it. */
export function checkTokenUse(claims: Readonly<Record<string, unknown>>, expected: string | undefined): void {
  if (expected !== undefined && claims.token_use !== expected) {
    throw new TokenUseError(`the token's token_use is not "${expected}"`);
  }
}
