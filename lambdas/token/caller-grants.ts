import type { TokenGrantRules } from "../../protocol/token-api.js";

/**
 * The names a caller is known by: its ARN as API Gateway's IAM authorizer reports it and, for a
 * role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`), its role's ARN
 * (`arn:aws:iam::ACCOUNT:role/ROLE`, without the role's path, which a session ARN does not carry).
 */
export function callerNames(callerArn: string): string[] {
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(callerArn);
  if (!session) return [callerArn];
  const [, partition, account, role] = session;
  return [callerArn, `arn:${partition}:iam::${account}:role/${role}`];
}

/**
 * Glob match where `*` matches any run of characters (`/` and `:` included) and everything else
 * matches itself. Linear backtracking to the last `*` only, so O(pattern × text) at worst: no
 * regular expression built from configuration, no catastrophic backtracking.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Every trace grant of every rule one of the caller's names matches (deduplicated, in rule order). */
export function grantsOf(rules: TokenGrantRules, callerArn: string): string[] {
  const names = callerNames(callerArn);
  const held = new Set<string>();
  for (const rule of rules) {
    if (rule.principals.some((pattern) => names.some((name) => globMatches(pattern, name)))) {
      for (const trace of rule.traces) held.add(trace);
    }
  }
  return [...held];
}
