/**
 * The one redactor. The producer SDK runs it before an event leaves the process and the emitter
 * runs it again before an event is stored or sent, so a producer that skips the SDK cannot leak.
 */

import { MAX_REDACT_DEPTH } from "./limits.js";

export const REDACTED = "[REDACTED]";

/**
 * The rules below are specified by `protocol/test-vectors/redaction.json`, which the TypeScript
 * tests and other languages' ports (the Python producer) read alike. To keep them portable:
 * - Regexes use only what JavaScript (without the `u`/`v`/`s`/`y` flags) and Python's `re` (with
 *   `re.ASCII`) read the same way: ASCII classes, `\b`, lookahead, lazy and bounded quantifiers.
 *   No lookbehind, named groups, inline flags, `\s`/`.`/`$` (they differ between the two), or
 *   Unicode property escapes. Case-insensitive patterns carry the `i` flag (`re.IGNORECASE`).
 * - Every value pattern has exactly one capture group, first: the text it matched outside that
 *   group becomes `[REDACTED]`, the group is kept (`m.group(1) or ""` + marker in Python).
 * - Key names are split into lower-case ASCII words by `keyWords`, then judged by `isSecretKey`.
 */

/** Nouns that name a secret wherever they stand in a key (`db_password`, `clientSecrets`). */
export const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "passphrase",
  "passcode",
  "secret",
  "authorization",
  "credential",
  "cookie",
  "apikey",
  "privatekey",
  "accesskey",
  "secretkey",
  "bearer",
]);

/** Nouns that name a secret only as the last word of a key (`db_pass`, not `pass_rate`). */
export const SECRET_LAST_WORDS = new Set([
  "token",
  "session",
  "sessionid",
  "jwt",
  "auth",
  "pass",
  "pwd",
  "pin",
  "otp",
  "dsn",
]);

/** Keys that are a secret on their own (`sig` of an Azure SAS URL, `Signature` of a signed URL). */
export const SECRET_KEYS = new Set(["sig", "signature"]);

/** Trailing words that still name the secret itself: `token_value`, `auth_header`, `pin_code`. */
export const VALUE_WORDS = new Set([
  "value",
  "val",
  "header",
  "headers",
  "hdr",
  "string",
  "str",
  "raw",
  "text",
  "data",
  "hash",
  "hex",
  "b64",
  "base64",
  "encoded",
  "plain",
  "plaintext",
  "code",
]);

/** Last words that make the key about a secret (its size, time, rule) rather than the secret. */
export const MEASURE_WORDS = new Set([
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
  "at",
  "age",
  "strength",
  "policy",
  "enabled",
  "required",
  "min",
  "max",
  "arn",
  "name",
]);

/** Adjacent words (singular) that name a secret: `api_keys`, `AccountKey`, `refresh_tokens`. */
export const SECRET_PAIRS = new Set([
  "api key",
  "private key",
  "access key",
  "secret key",
  "session id",
  "session key",
  "signing key",
  "encryption key",
  "account key",
  "master key",
  "client key",
  "app key",
  "auth key",
  "ssh key",
  "deploy key",
  "license key",
  "access token",
  "refresh token",
  "id token",
  "auth token",
  "api token",
  "bot token",
  "oauth token",
  "session token",
  "csrf token",
  "amz signature",
  "goog signature",
  "connection string",
]);

/** Plurals read as their singular for SECRET_WORDS and SECRET_PAIRS (`passwords`, `api_keys`). */
export const PLURALS = new Set([...SECRET_WORDS, "key", "token", "string"]);

function singular(word: string): string {
  return word.endsWith("s") && PLURALS.has(word.slice(0, -1)) ? word.slice(0, -1) : word;
}

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
  const raw = keyWords(key);
  const last = raw.at(-1);
  if (last === undefined || MEASURE_WORDS.has(last)) return false;
  if (raw.length === 1 && SECRET_KEYS.has(last)) return true;
  const words = raw.map(singular);
  if (words.some((word) => SECRET_WORDS.has(word))) return true;
  for (let i = 0; i + 1 < words.length; i++) {
    if (SECRET_PAIRS.has(`${words[i]} ${words[i + 1]}`)) return true;
  }
  let end = raw.length;
  while (end > 1 && VALUE_WORDS.has(raw[end - 1] as string)) end--;
  return SECRET_LAST_WORDS.has(raw[end - 1] as string);
}

/**
 * Secret-shaped values, masked wherever they appear inside a string, in this order. Group 1 is
 * kept (a header name, a URL's user, the character before a token); the rest of the match goes.
 */
export const SECRET_VALUE_PATTERNS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  {
    // PEM private keys (RSA, EC, OpenSSH, PKCS#8, encrypted, PGP): the body up to its END line,
    // or, when the END line is missing, the next 8 KiB whatever they hold.
    name: "pem-private-key",
    pattern:
      /(-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)(?:[\s\S]{0,8192}?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?!\[REDACTED\])[\s\S]{1,8192})/g,
  },
  // The password of a URL's user info: postgres://user:[REDACTED]@host. Before the header
  // schemes, whose token classes would take the URL's scheme.
  {
    name: "url-password",
    pattern: /(\b[A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^:/?#@ \t\r\n"']{0,256}:)[^@/?# \t\r\n"']{1,256}(?=@)/g,
  },
  // Authorization header values, whatever the scheme (Bearer, Basic, Token, Digest, AWS4-HMAC):
  // a quoted value up to its closing quote (escaped quotes inside), a bare one to the end of the
  // line or an unbalanced quote, taking quoted parts along (`Token x, api_key: 'y'`).
  {
    name: "authorization-header-quoted",
    pattern: /(\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*\\?["'])(?:\\["']|[^"'\r\n])+/gi,
  },
  {
    name: "authorization-header",
    pattern:
      /(\b(?:proxy-)?authorization["']?[ \t]*[:=][ \t]*)(?!\\?["'])(?:\\["']|[^"'\r\n]|"[^"\r\n]*"|'[^'\r\n]*')+/gi,
  },
  { name: "bearer", pattern: /()\bbearer[ \t\r\n]+[A-Za-z0-9._~+/-]+=*/gi },
  // `basic` + base64 that is not an English word: an upper-case letter, digit, + or / after its first character.
  {
    name: "basic",
    pattern:
      /()\b[Bb][Aa][Ss][Ii][Cc][ \t]+(?=[A-Za-z0-9+/]{8})[A-Za-z0-9+/][a-z]*[A-Z0-9+/][A-Za-z0-9+/]*=*/g,
  },
  // JWTs: base64url JSON header and payload ("ey" for `{"`, "ew" for `{` and white space).
  {
    name: "jwt",
    pattern: /(^|[^A-Za-z0-9_-])e[yw][A-Za-z0-9_-]{8,}\.e[yw][A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  },
  {
    name: "aws-access-key-id",
    pattern:
      /(^|[^A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  },
  {
    name: "aws-session-token",
    pattern: /(^|[^A-Za-z0-9/+=%])(?:FwoGZXIvYXdzE|IQoJb3JpZ2luX)[A-Za-z0-9/+=%]{20,}/g,
  },
  {
    name: "github",
    pattern: /(^|[^A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})/g,
  },
  { name: "gitlab", pattern: /(^|[^A-Za-z0-9_-])gl(?:pat|ptt|rt)-[A-Za-z0-9_-]{20,}/g },
  {
    name: "slack-token",
    pattern: /(^|[^A-Za-z0-9_-])(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})/g,
  },
  {
    name: "slack-webhook",
    pattern: /(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_+-]{10,}/g,
  },
  // OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-) keys.
  { name: "sk-dash-key", pattern: /(^|[^A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g },
  {
    name: "stripe",
    pattern: /(^|[^A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})/g,
  },
  { name: "google-api-key", pattern: /(^|[^A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g },
  { name: "npm", pattern: /(^|[^A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g },
  { name: "hugging-face", pattern: /(^|[^A-Za-z0-9_])hf_[A-Za-z0-9]{30,}/g },
  { name: "sendgrid", pattern: /(^|[^A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}/g },
  { name: "pypi", pattern: /(^|[^A-Za-z0-9_-])pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{16,}/g },
  { name: "age-secret-key", pattern: /(^|[^A-Za-z0-9-])AGE-SECRET-KEY-1[0-9A-Z]{58}/g },
  // AWS secret access keys: 40 base64 characters with upper case, lower case and a digit. Last,
  // so a vendor token that happens to hold such a run is masked whole first.
  {
    name: "aws-secret-access-key",
    pattern:
      /(^|[^A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
  },
];

/**
 * `name=value`, `name: value`, `"name": "value"` inside a string (query strings, connection
 * strings, headers, JSON or YAML quoted in text): the value goes when `isSecretKey(name)`, unless
 * it already starts with `[REDACTED]` (after an optional quote), which keeps redaction idempotent.
 * Groups: 1 the character before the name, 2 the name, 3 the separator, 4 the value.
 */
export const SECRET_ASSIGNMENT =
  /(^|[^A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,63})([\\"']{0,2}[ \t]*(?::=|=>|[:=])[ \t]*)(\\?"[^"\r\n]*"?|\\?'[^'\r\n]*'?|[^ \t\r\n"'&;,]+)/g;

/**
 * Masks every secret-shaped part of `value`: the value patterns in order, then assignments, and
 * again while that changes the text (at most MAX_REDACT_PASSES passes), since masking one secret
 * can expose the boundary of another glued to it.
 */
export function redactString(value: string): string {
  let result = value;
  for (let pass = 0; pass < MAX_REDACT_PASSES; pass++) {
    const next = redactPass(result);
    if (next === result) break;
    result = next;
  }
  return result;
}

export const MAX_REDACT_PASSES = 4;

function redactPass(value: string): string {
  let result = value;
  for (const { pattern } of SECRET_VALUE_PATTERNS) {
    result = result.replace(pattern, (_match, keep: string | undefined) => `${keep ?? ""}${REDACTED}`);
  }
  return result.replace(
    SECRET_ASSIGNMENT,
    (match, before: string, name: string, separator: string, secret: string) =>
      isSecretKey(name) && !secret.replace(/^\\?["']/, "").startsWith(REDACTED)
        ? `${before}${name}${separator}${REDACTED}`
        : match,
  );
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
