/**
 * The one redactor. The producer SDK runs it before an event leaves the process and the emitter
 * runs it again before an event is stored or sent, so a producer that skips the SDK cannot leak.
 */

import { MAX_REDACT_DEPTH } from "./limits.js";

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

export const CIRCULAR = "[Circular]";
export const TRUNCATED = "[Truncated]";

/**
 * Returns a redacted deep copy of plain JSON-like data: values under secret keys become
 * `"[REDACTED]"`, secret-shaped substrings are masked, cycles become `"[Circular]"`, containers
 * deeper than MAX_REDACT_DEPTH become `"[Truncated]"`, and values JSON cannot carry (functions,
 * symbols, undefined) are dropped from objects and become null in arrays, as JSON.stringify does.
 * The walk uses an explicit stack, so input of any depth is safe, and its output is never deeper
 * than MAX_REDACT_DEPTH, so JSON.stringify of it is safe too.
 */
export function redact<T>(value: T): T {
  let result: unknown;
  const path = new Set<object>();
  const tasks: Task[] = [{ value, depth: 1, put: (copy) => (result = copy) }];
  for (let task = tasks.pop(); task !== undefined; task = tasks.pop()) {
    if ("leave" in task) {
      path.delete(task.leave);
      continue;
    }
    const { value: item, depth, put } = task;
    if (typeof item === "string") put(redactString(item));
    else if (item === null || typeof item !== "object") put(item);
    else if (item instanceof Date) put(Number.isNaN(item.getTime()) ? null : item.toISOString());
    else if (path.has(item)) put(CIRCULAR);
    else if (depth > MAX_REDACT_DEPTH) put(TRUNCATED);
    else {
      path.add(item);
      tasks.push({ leave: item });
      if (Array.isArray(item)) {
        const copy: unknown[] = new Array(item.length).fill(null);
        put(copy);
        for (let index = item.length - 1; index >= 0; index--) {
          const child: unknown = item[index];
          if (droppedByJson(child)) continue;
          tasks.push({ value: child, depth: depth + 1, put: (redacted) => (copy[index] = redacted) });
        }
      } else {
        const copy: Record<string, unknown> = {};
        put(copy);
        const children: Task[] = [];
        for (const [key, child] of Object.entries(item)) {
          if (droppedByJson(child)) continue;
          const name = redactString(key);
          if (isSecretKey(key)) {
            setOwn(copy, name, REDACTED);
            continue;
          }
          // The key is created now, in input order; its value is filled in when the child is done.
          setOwn(copy, name, null);
          children.push({ value: child, depth: depth + 1, put: (redacted) => setOwn(copy, name, redacted) });
        }
        for (let index = children.length - 1; index >= 0; index--) tasks.push(children[index] as Task);
      }
    }
  }
  return result as T;
}

type Task = { value: unknown; depth: number; put: (copy: unknown) => void } | { leave: object };

function droppedByJson(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/** Sets an own data property, so a `__proto__` key from JSON stays data and never a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}
