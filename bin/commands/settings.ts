import { DEFAULT_EVENT_SOURCE } from "../../lib/event-rule.js";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import type { Environment } from "./command.js";
import { UsageError } from "./errors.js";

/**
 * Where the CLI finds the system. Every value comes from a flag, else an environment variable,
 * else (target `local`, the default) the local stack's address; with target `aws` there are no
 * placeholder defaults: a missing value is an error that says what to set.
 */
export const ENV_VARS = {
  target: "TRACE_STREAM_TARGET",
  url: "TRACE_STREAM_URL",
  token: "TRACE_STREAM_TOKEN",
  jwtSecret: "TRACE_STREAM_JWT_SECRET",
  jwtSecretArn: "TRACE_STREAM_JWT_SECRET_ARN",
  eventBridgeEndpoint: "TRACE_STREAM_EVENTBRIDGE_ENDPOINT",
  bus: "TRACE_STREAM_BUS",
  source: "TRACE_STREAM_SOURCE",
  dynamodbEndpoint: "TRACE_STREAM_DYNAMODB_ENDPOINT",
  table: "TRACE_STREAM_TABLE",
  connectionsEndpoint: "TRACE_STREAM_CONNECTIONS_ENDPOINT",
  viewerUrl: "TRACE_STREAM_VIEWER_URL",
  logFormat: "TRACE_STREAM_LOG_FORMAT",
  fanOut: "TRACE_STREAM_FAN_OUT",
  region: "AWS_REGION",
} as const;

/**
 * The local stack's addresses (design §6); `npm start` listens on these. Restated here rather than
 * imported from local/index.ts, which loads the whole stack (about a second); a test keeps the two
 * in agreement.
 */
export const LOCAL = {
  url: "ws://127.0.0.1:3001/local",
  eventBridgeEndpoint: "http://127.0.0.1:4010",
  dynamodbEndpoint: "http://127.0.0.1:8000",
  viewerUrl: "http://127.0.0.1:3000",
  table: "trace-stream-local",
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
} as const;

export type Target = "local" | "aws";

/** Flags shared by the commands that reach the system. */
export const targetOption = { target: { type: "string" } } as const;
export const regionOption = { region: { type: "string" } } as const;
export const eventBridgeOptions = {
  ...targetOption,
  ...regionOption,
  "eventbridge-endpoint": { type: "string" },
  bus: { type: "string" },
  source: { type: "string" },
} as const;
export const webSocketOptions = {
  ...targetOption,
  url: { type: "string" },
  token: { type: "string" },
} as const;

export const TARGET_HELP = `  --target local|aws     local: the local stack (default); aws: a deployed stack, endpoints
                         and credentials from the AWS SDK chain   [${ENV_VARS.target}]`;
export const EVENTBRIDGE_HELP = `  --eventbridge-endpoint URL   [${ENV_VARS.eventBridgeEndpoint}]  default (local) ${LOCAL.eventBridgeEndpoint}
  --bus NAME             event bus name   [${ENV_VARS.bus}]  default ${DEFAULT_EVENT_SOURCE}
  --source NAME          event Source     [${ENV_VARS.source}]  default ${DEFAULT_EVENT_SOURCE}
  --region REGION        [${ENV_VARS.region}]  default (local) ${LOCAL.region}`;
export const WEBSOCKET_HELP = `  --url URL              WebSocket stage URL   [${ENV_VARS.url}]  default (local) ${LOCAL.url}
  --token JWT            viewer token   [${ENV_VARS.token}]  default (local): minted with the
                         JWT secret   [${ENV_VARS.jwtSecret}]`;

interface Flags {
  readonly [name: string]: string | boolean | (string | boolean)[] | undefined;
}

function flag(values: Flags, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function fromEnv(env: Environment, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** A flag, else its environment variable. */
export function setting(
  values: Flags,
  flagName: string,
  env: Environment,
  envName: string,
): string | undefined {
  return flag(values, flagName) ?? fromEnv(env, envName);
}

export function resolveTarget(values: Flags, env: Environment, command: string): Target {
  const target = setting(values, "target", env, ENV_VARS.target) ?? "local";
  if (target !== "local" && target !== "aws") {
    throw new UsageError(`--target must be "local" or "aws", got ${JSON.stringify(target)}`, command);
  }
  return target;
}

/** A value needed against AWS, where no default is guessed. */
export function required(
  value: string | undefined,
  what: string,
  flagName: string,
  envName: string,
  command: string,
): string {
  if (value !== undefined) return value;
  throw new UsageError(`${what} is not set: pass --${flagName} or set ${envName}`, command);
}

export function checkUrl(
  value: string,
  flagName: string,
  command: string,
  protocols: readonly string[],
): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${flagName} must be a URL, got ${JSON.stringify(value)}`, command);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UsageError(
      `--${flagName} must start with ${protocols.map((p) => `${p}//`).join(" or ")}, got ${JSON.stringify(value)}`,
      command,
    );
  }
  return value;
}

export interface EventBridgeSettings {
  readonly target: Target;
  /** Undefined against AWS: the SDK resolves the regional endpoint. */
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly busName: string;
  readonly source: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export function resolveEventBridge(values: Flags, env: Environment, command: string): EventBridgeSettings {
  const target = resolveTarget(values, env, command);
  const configured = setting(values, "eventbridge-endpoint", env, ENV_VARS.eventBridgeEndpoint);
  const endpoint = configured ?? (target === "local" ? LOCAL.eventBridgeEndpoint : undefined);
  if (endpoint !== undefined) checkUrl(endpoint, "eventbridge-endpoint", command, ["http:", "https:"]);
  const region =
    setting(values, "region", env, ENV_VARS.region) ?? (target === "local" ? LOCAL.region : undefined);
  return {
    target,
    endpoint,
    region,
    busName: setting(values, "bus", env, ENV_VARS.bus) ?? DEFAULT_EVENT_SOURCE,
    source: setting(values, "source", env, ENV_VARS.source) ?? DEFAULT_EVENT_SOURCE,
    credentials: target === "local" ? { ...LOCAL.credentials } : undefined,
  };
}

export function resolveWebSocketUrl(values: Flags, env: Environment, command: string): string {
  const target = resolveTarget(values, env, command);
  const url =
    setting(values, "url", env, ENV_VARS.url) ??
    (target === "local" ? LOCAL.url : required(undefined, "the WebSocket URL", "url", ENV_VARS.url, command));
  return checkUrl(url, "url", command, ["ws:", "wss:"]);
}

/** A trace id as the protocol allows it; `flagName` says where it came from. */
export function checkTraceId(value: string | undefined, flagName: string, command: string): string {
  if (value === undefined) throw new UsageError(`${flagName} is required`, command);
  if (value === "") throw new UsageError(`${flagName} must not be empty`, command);
  if (!TRACE_ID_PATTERN.test(value)) {
    throw new UsageError(
      `${flagName} ${JSON.stringify(value)} is not a valid trace id: use 1-128 characters of A-Za-z0-9._:/-`,
      command,
    );
  }
  return value;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `1.5h`, `7d` → seconds. */
export function parseDuration(value: string, flagName: string, command: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (DURATION_UNITS[match[2] || "s"] ?? 1) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(
      `${flagName} must be a positive duration like 90s, 15m, 1h or 7d, got ${JSON.stringify(value)}`,
      command,
    );
  }
  return Math.ceil(seconds);
}

/** A whole number in [min, max]; the message says which bound a number missed. */
export function parseInteger(
  value: string,
  flagName: string,
  command: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^-?\d+$/.test(value.trim())) {
    throw new UsageError(
      `${flagName} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? "" : ` to ${max}`}, got ${JSON.stringify(value)}`,
      command,
    );
  }
  const number = Number(value);
  if (number < min) throw new UsageError(`${flagName} must be ≥ ${min}, got ${value.trim()}`, command);
  if (number > max) throw new UsageError(`${flagName} must be ≤ ${max}, got ${value.trim()}`, command);
  return number;
}
