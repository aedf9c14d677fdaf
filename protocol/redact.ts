/**
 * The one redactor. The producer SDK runs it before an event leaves the process and the emitter
 * runs it again before an event is stored or sent, so a producer that skips the SDK cannot leak.
 */

export const REDACTED = "[REDACTED]";

/** Nouns that name a secret wherever they stand in a key (`db_password`, `clientSecret`). */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "secret",
  "authorization",
  "credential",
  "credentials",
  "cookie",
  "cookies",
  "apikey",
  "privatekey",
  "accesskey",
  "bearer",
]);

/** Nouns that name a secret only as the last word of a key (`access_token`, not `token_count`). */
const SECRET_HEAD_WORDS = new Set(["token", "session", "sessionid", "jwt", "auth"]);

/** Words that make the key about a secret's size or number rather than the secret itself. */
const MEASURE_WORDS = new Set([
  "count",
  "counts",
  "length",
  "len",
  "size",
  "total",
  "num",
  "number",
  "limit",
  "used",
  "remaining",
  "type",
  "expires",
  "expiry",
  "ttl",
]);

/** Two-word pairs that name a secret (`api_key`, `private key`, `AccessKey`, `session id`). */
const SECRET_PAIRS = new Set([
  "api key",
  "private key",
  "access key",
  "secret key",
  "session id",
  "signing key",
]);

/** Splits `clientSecret`, `api-key`, `X_API_KEY`, `privateKey2` into lower-case words. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
}

/** True when a metadata key names a secret; harmless neighbours (`max_tokens`, `author`) are kept. */
export function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  const last = words.at(-1);
  if (last === undefined || MEASURE_WORDS.has(last)) return false;
  if (words.some((word) => SECRET_WORDS.has(word))) return true;
  if (SECRET_HEAD_WORDS.has(last)) return true;
  for (let i = 0; i + 1 < words.length; i++) {
    if (SECRET_PAIRS.has(`${words[i]} ${words[i + 1]}`)) return true;
  }
  return false;
}

/** Secret-shaped values, redacted wherever they appear inside a string. */
const SECRET_VALUE_PATTERNS: readonly RegExp[] = [
  // Authorization header values.
  /\bBearer\s+[A-Za-z0-9\-._~+/]+=*/gi,
  /\bBasic\s+[A-Za-z0-9+/]{8,}=*/g,
  // JWTs (header.payload.signature; the signature is empty for alg "none").
  /\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
  // AWS access key ids.
  /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
];

export function redactString(value: string): string {
  let result = value;
  for (const pattern of SECRET_VALUE_PATTERNS) result = result.replace(pattern, REDACTED);
  return result;
}

/**
 * Returns a redacted deep copy of plain JSON-like data: values under secret keys become
 * `"[REDACTED]"`, secret-shaped substrings are masked, cycles become `"[Circular]"`, and values
 * JSON cannot carry (functions, symbols) are dropped as JSON.stringify would.
 */
export function redact<T>(value: T): T {
  return redactValue(value, new WeakSet()) as T;
}

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
    if (value instanceof Date) return value.toISOString();
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "function" || typeof item === "symbol" || item === undefined) continue;
      copy[key] = isSecretKey(key) ? REDACTED : redactValue(item, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}
