import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from "../../lambdas/authorizer/token-lifetime.js";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { ExitCode, UsageError } from "./errors.js";
import { parseDuration, resolveTarget, TARGET_HELP, targetOption } from "./settings.js";
import { mint } from "./tokens.js";

const NAME = "token";

const OPTIONS = {
  ...targetOption,
  trace: { type: "string", multiple: true },
  ttl: { type: "string", default: "1h" },
  subject: { type: "string" },
  issuer: { type: "string" },
  audience: { type: "string" },
} as const;

/** A trace id, or a prefix ending in `*` (`run-*`; `*` alone grants every trace). */
function checkGrant(value: string): string {
  const base = value.endsWith("*") ? value.slice(0, -1) : value;
  if (base === "" && value === "*") return value;
  if (!TRACE_ID_PATTERN.test(base)) {
    throw new UsageError(
      `--trace ${JSON.stringify(value)} is not a valid trace id (1-128 characters of A-Za-z0-9._:/-, or a prefix ending in *)`,
      NAME,
    );
  }
  return value;
}

export const tokenCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream token --trace ID [--trace ID ...] [--ttl 1h]

Prints a viewer token (HS256 JWT) for the given traces, signed with the configured secret. Connect
with it as ?traceId=ID&token=JWT.

Options:
  --trace ID             a trace id, or a prefix ending in * ("run-*"; "*" for every trace);
                         repeat for several   (required)
  --ttl DURATION         lifetime: 90s, 15m, 1h, 1d (a bare number is seconds), at most 1d
                         (the authorizer refuses longer tokens)   default 1h
  --subject NAME         the token's sub claim   default trace-stream-dev
  --issuer ISS           iss claim (when the authorizer requires one)
  --audience AUD         aud claim (when the authorizer requires one)
${TARGET_HELP}
  -h, --help             show this help

Secret: TRACE_STREAM_JWT_SECRET; against AWS also TRACE_STREAM_JWT_SECRET_ARN (stack output
JwtSecretArn, read from Secrets Manager); locally the local stack's development secret.`,

  async run(argv, context) {
    const { values } = parseCommandArgs(NAME, argv, OPTIONS);
    const traces = (values.trace ?? []).map(checkGrant);
    if (traces.length === 0) throw new UsageError("--trace is required", NAME);
    const ttlSeconds = parseDuration(values.ttl, "--ttl", NAME);
    if (ttlSeconds > DEFAULT_MAX_TOKEN_LIFETIME_SECONDS) {
      throw new UsageError(
        `--ttl must be at most 1d (${DEFAULT_MAX_TOKEN_LIFETIME_SECONDS} s): the authorizer refuses tokens that live longer, got ${JSON.stringify(values.ttl)}`,
        NAME,
      );
    }
    const target = resolveTarget(values, context.env, NAME);
    const token = await mint(context.env, target, NAME, {
      traces,
      ttlSeconds,
      subject: values.subject,
      issuer: values.issuer,
      audience: values.audience,
    });
    context.stdout.write(`${token}\n`);
    return ExitCode.ok;
  },
};
