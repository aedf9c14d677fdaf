import { z } from "zod";

const OneOrMany = z.union([z.string(), z.array(z.string()).min(1)]);

const PolicyStatement = z.object({
  Effect: z.enum(["Allow", "Deny"]),
  Action: OneOrMany,
  Resource: OneOrMany,
});

/** A Lambda REQUEST authorizer's output, as API Gateway accepts it. */
const AuthorizerOutput = z.object({
  principalId: z.string(),
  policyDocument: z.object({
    Version: z.string().optional(),
    Statement: z.union([PolicyStatement, z.array(PolicyStatement)]),
  }),
  // API Gateway refuses objects and arrays in the context map (a 500 for the caller).
  context: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullish(),
  usageIdentifierKey: z.string().nullish(),
});

export type AuthorizerDecision =
  | { readonly effect: "Allow"; readonly principalId: string; readonly context: Record<string, string> }
  | { readonly effect: "Deny"; readonly principalId: string; readonly explicit: boolean }
  | { readonly effect: "Invalid"; readonly reason: string };

/** IAM wildcards: `*` any run of characters, `?` one character. */
function wildcardMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, ignoreCase ? "i" : "").test(value);
}

function asList(value: string | string[]): string[] {
  return typeof value === "string" ? [value] : value;
}

/**
 * Evaluates an authorizer's policy for the `$connect` method ARN the way IAM does: an explicit
 * Deny wins, then an Allow, and no matching statement is an implicit deny. Context values reach
 * the integration as strings.
 */
export function evaluateAuthorizerOutput(output: unknown, methodArn: string): AuthorizerDecision {
  const parsed = AuthorizerOutput.safeParse(output);
  if (!parsed.success) {
    return { effect: "Invalid", reason: `malformed authorizer response: ${z.prettifyError(parsed.error)}` };
  }
  const { principalId, policyDocument, context } = parsed.data;
  const statements = Array.isArray(policyDocument.Statement)
    ? policyDocument.Statement
    : [policyDocument.Statement];
  const applicable = statements.filter(
    (statement) =>
      asList(statement.Action).some((action) => wildcardMatches(action, "execute-api:Invoke", true)) &&
      asList(statement.Resource).some((resource) => wildcardMatches(resource, methodArn, false)),
  );
  if (applicable.some((statement) => statement.Effect === "Deny")) {
    return { effect: "Deny", principalId, explicit: true };
  }
  if (!applicable.some((statement) => statement.Effect === "Allow")) {
    return { effect: "Deny", principalId, explicit: false };
  }
  const values = Object.fromEntries(
    Object.entries(context ?? {}).map(([key, value]) => [key, String(value)]),
  );
  return { effect: "Allow", principalId, context: values };
}

/**
 * True when an authorizer failed with the message API Gateway turns into 401 ("Unauthorized"),
 * whether the runner rejects with an Error or with Lambda's `{errorMessage}` record.
 */
export function isUnauthorizedError(error: unknown): boolean {
  if (error instanceof Error) return error.message === "Unauthorized";
  return (
    typeof error === "object" &&
    error !== null &&
    (error as { errorMessage?: unknown }).errorMessage === "Unauthorized"
  );
}

interface UpgradeValues {
  readonly headers: Record<string, string>;
  readonly queryStringParameters: Record<string, string>;
}

/**
 * Compiles the authorizer's identity sources (`route.request.querystring.X`,
 * `route.request.header.X`) into a check that names the missing ones. API Gateway answers 401
 * without invoking the authorizer when any is missing or empty.
 */
export function compileIdentitySources(sources: readonly string[]): (upgrade: UpgradeValues) => string[] {
  const readers = sources.map((source) => {
    const query = /^route\.request\.querystring\.(.+)$/.exec(source)?.[1];
    if (query !== undefined) return (upgrade: UpgradeValues) => upgrade.queryStringParameters[query];
    const header = /^route\.request\.header\.(.+)$/.exec(source)?.[1]?.toLowerCase();
    if (header !== undefined) {
      return (upgrade: UpgradeValues) =>
        Object.entries(upgrade.headers).find(([name]) => name.toLowerCase() === header)?.[1];
    }
    throw new Error(
      `Unsupported identity source "${source}": expected route.request.querystring.X or .header.X.`,
    );
  });
  return (upgrade) => sources.filter((_, index) => !readers[index]!(upgrade));
}
