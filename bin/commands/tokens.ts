import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { MIN_SECRET_LENGTH, mintToken } from "../../lambdas/authorizer/token.js";
import type { Environment } from "./command.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { ENV_VARS, setting, type Target } from "./settings.js";

interface Flags {
  readonly [name: string]: string | boolean | (string | boolean)[] | undefined;
}

/**
 * The HS256 secret tokens are minted with: TRACE_STREAM_JWT_SECRET; against AWS also the stack's
 * Secrets Manager secret (TRACE_STREAM_JWT_SECRET_ARN); locally the local stack's LOCAL_DEV_SECRET.
 * Never a flag: command lines are visible to every user of the machine.
 */
export async function resolveSecret(env: Environment, target: Target, command: string): Promise<string> {
  const direct = env[ENV_VARS.jwtSecret];
  if (direct !== undefined && direct !== "") return checkSecret(direct, command);
  if (target === "local") {
    const { LOCAL_DEV_SECRET } = await import("../../local/index.js");
    return LOCAL_DEV_SECRET;
  }
  const arn = env[ENV_VARS.jwtSecretArn];
  if (arn === undefined || arn === "") {
    throw new UsageError(
      `no JWT secret: set ${ENV_VARS.jwtSecret}, or ${ENV_VARS.jwtSecretArn} (the stack output JwtSecretArn)`,
      command,
    );
  }
  const client = new SecretsManagerClient({});
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!result.SecretString) throw new CliError(`secret ${arn} has no string value`, ExitCode.failure);
    return checkSecret(result.SecretString, command);
  } finally {
    client.destroy();
  }
}

function checkSecret(secret: string, command: string): string {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new UsageError(`${ENV_VARS.jwtSecret} must be at least ${MIN_SECRET_LENGTH} characters`, command);
  }
  return secret;
}

export interface MintOptions {
  readonly traces: readonly string[];
  readonly ttlSeconds: number;
  readonly subject?: string | undefined;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
}

export async function mint(
  env: Environment,
  target: Target,
  command: string,
  options: MintOptions,
): Promise<string> {
  const secret = await resolveSecret(env, target, command);
  return mintToken({
    secret,
    traces: options.traces,
    ttlSeconds: options.ttlSeconds,
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined ? {} : { audience: options.audience }),
  });
}

/** `--token`, else TRACE_STREAM_TOKEN, else a short-lived token for this trace minted with the secret. */
export async function viewerToken(
  values: Flags,
  env: Environment,
  target: Target,
  command: string,
  traceId: string,
): Promise<string> {
  const given = setting(values, "token", env, ENV_VARS.token);
  if (given !== undefined) return given;
  if (target === "aws" && (env[ENV_VARS.jwtSecret] ?? env[ENV_VARS.jwtSecretArn] ?? "") === "") {
    throw new UsageError(`no token: pass --token or set ${ENV_VARS.token}`, command);
  }
  return mint(env, target, command, {
    traces: [traceId],
    ttlSeconds: 12 * 3600,
    subject: `trace-stream-cli ${command}`,
  });
}
