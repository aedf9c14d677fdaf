/**
 * The token endpoint's contract: the policy a deployer writes (which callers may ask for which
 * traces), the request a caller sends and the answer it gets.
 *
 *   GET {TokenEndpointUrl}?traceId=run-1&traceId=team-a/*&ttlSeconds=900   (SigV4-signed)
 *   200 {"token":"<JWT>","traces":["run-1","team-a/*"],"expiresInSeconds":900,"expiresAt":"..."}
 *   400 / 403 {"message":"..."}
 */
import { z } from "zod";
import { TRACE_ID_PATTERN } from "./trace-event.js";

/** Most traces one token request may name. */
export const MAX_TRACES_PER_TOKEN = 20;
/** Shortest lifetime a caller may ask for: a token must outlive a reconnect or two. */
export const MIN_TOKEN_TTL_SECONDS = 60;

/** True for a trace id, or a prefix of one ending in `*` (`"team-a/*"`; `"*"` is every trace). */
export function isTraceGrant(value: string): boolean {
  if (value === "*") return true;
  const base = value.endsWith("*") ? value.slice(0, -1) : value;
  return TRACE_ID_PATTERN.test(base);
}

/** A `traces` entry: a trace id, or a prefix ending in `*`. */
export const TraceGrant = z
  .string()
  .refine(isTraceGrant, "a trace id (1-128 characters of A-Za-z0-9._:/-) or a prefix of one ending in *");

/**
 * True when `held` (ids and `*` prefixes) covers `wanted`: an id is covered by itself or a prefix
 * it starts with; a prefix `P*` only by a prefix `Q*` that P starts with (an id never covers a prefix).
 */
export function grantCovers(held: readonly string[], wanted: string): boolean {
  const wantedPrefix = wanted.endsWith("*") ? wanted.slice(0, -1) : undefined;
  return held.some((grant) => {
    if (grant.endsWith("*")) return (wantedPrefix ?? wanted).startsWith(grant.slice(0, -1));
    return wantedPrefix === undefined && grant === wanted;
  });
}

/**
 * An IAM principal pattern: an ARN (`arn:aws:iam::123456789012:role/viewer`,
 * `arn:aws:sts::123456789012:assumed-role/viewer/alice`) where `*` matches any run of characters,
 * or `*` alone for every caller IAM lets through.
 */
export const PrincipalPattern = z
  .string()
  .max(512)
  .regex(
    /^(\*|arn:[A-Za-z0-9*-]+:(iam|sts|\*)::(\d{12}|\*):[\x21-\x7e]+)$/,
    "an IAM or STS ARN (arn:aws:iam::123456789012:role/NAME, ...), * matching any characters, or * alone",
  )
  .refine((value) => (value.match(/\*/g)?.length ?? 0) <= 8, "at most 8 * wildcards in a principal");

/** One rule of the token policy: callers matching any of `principals` may ask for `traces`. */
export const TokenGrantRule = z.strictObject({
  principals: z.array(PrincipalPattern).min(1).max(20),
  traces: z.array(TraceGrant).min(1).max(50),
});
export type TokenGrantRule = z.infer<typeof TokenGrantRule>;

/** The whole policy: a caller may ask for the union of the traces of every rule it matches. */
export const TokenGrantRules = z.array(TokenGrantRule).min(1).max(50);
export type TokenGrantRules = z.infer<typeof TokenGrantRules>;

/** A 200 answer of the token endpoint. */
export const TokenIssued = z.object({
  token: z.string().min(1),
  traces: z.array(z.string()),
  expiresInSeconds: z.number().int().positive(),
  /** ISO-8601. */
  expiresAt: z.string(),
});
export type TokenIssued = z.infer<typeof TokenIssued>;
