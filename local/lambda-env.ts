import { ENV } from "../lambdas/shared/env-names.js";
import { FUNCTION_SPECS } from "../lib/function-specs.js";
import type { FunctionConfig, LambdaFunctionName } from "./lambda-runner.js";
import type { LogLevel } from "./log.js";

/** What the functions' environments are made of; endpoints are read when a function starts cold. */
export interface LambdaEnvironmentInput {
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly tableName: string;
  readonly eventSource: string;
  readonly eventRetentionDays: number;
  readonly emitterConcurrency: number;
  /** The emitter's FAN_OUT_MODE. */
  readonly fanOut: "direct" | "stream";
  readonly maxSubscribersPerTrace: number;
  /** The emitter's runs-watchers cache period, in ms (ENV.runsWatchersCacheMs; its default when absent). */
  readonly runsWatchersCacheMs?: number | undefined;
  readonly jwtSecret: string;
  /** The token endpoint's policy, as TOKEN_GRANTS JSON. */
  readonly tokenGrants: string;
  readonly tokenDefaultTtlSeconds: number;
  readonly tokenMaxTtlSeconds: number;
  readonly logLevel: LogLevel;
  readonly functionNamePrefix: string;
  /** Per-function timeouts that replace the deployed ones (tests). */
  readonly timeoutSeconds?: Readonly<Partial<Record<LambdaFunctionName, number>>>;
  readonly endpoints: () => {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly connections: string;
    readonly deadLetterQueueUrl: string;
    readonly failureQueueUrl: string;
  };
}

const POWERTOOLS_LEVEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARN",
  error: "ERROR",
  silent: "SILENT",
};

/**
 * Each function gets the variables the CDK stack gives it and no others, plus the endpoint and
 * credential variables that point the SDK clients at the local services.
 */
export function lambdaFunctionConfig(
  name: LambdaFunctionName,
  input: LambdaEnvironmentInput,
): FunctionConfig {
  const endpoints = input.endpoints();
  const spec = FUNCTION_SPECS[name];
  const common: Record<string, string> = {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    AWS_ACCESS_KEY_ID: input.accessKeyId,
    AWS_SECRET_ACCESS_KEY: input.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_LAMBDA_FUNCTION_NAME: `${input.functionNamePrefix}-${name}`,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    POWERTOOLS_SERVICE_NAME: "trace-stream",
    POWERTOOLS_METRICS_NAMESPACE: "TraceStream",
    POWERTOOLS_LOG_LEVEL: POWERTOOLS_LEVEL[input.logLevel],
    // Metrics go to stdout as EMF on Lambda; locally they are noise unless asked for.
    POWERTOOLS_METRICS_DISABLED: input.logLevel === "debug" ? "false" : "true",
  };
  const own: Record<string, string> = {};
  switch (name) {
    case "authorizer":
      own[ENV.jwtSecret] = input.jwtSecret;
      break;
    case "connect":
      own[ENV.tableName] = input.tableName;
      own[ENV.maxSubscribersPerTrace] = String(input.maxSubscribersPerTrace);
      break;
    case "disconnect":
      own[ENV.tableName] = input.tableName;
      break;
    case "resume":
      own[ENV.tableName] = input.tableName;
      own[ENV.connectionsEndpoint] = endpoints.connections;
      own[ENV.eventRetentionDays] = String(input.eventRetentionDays);
      break;
    case "emitter":
      own[ENV.tableName] = input.tableName;
      own[ENV.connectionsEndpoint] = endpoints.connections;
      own[ENV.deadLetterQueueUrl] = endpoints.deadLetterQueueUrl;
      own[ENV.eventSource] = input.eventSource;
      own[ENV.eventRetentionDays] = String(input.eventRetentionDays);
      own[ENV.emitterConcurrency] = String(input.emitterConcurrency);
      if (input.runsWatchersCacheMs !== undefined)
        own[ENV.runsWatchersCacheMs] = String(input.runsWatchersCacheMs);
      own[ENV.fanOutMode] = input.fanOut;
      break;
    case "fan-out":
      own[ENV.tableName] = input.tableName;
      own[ENV.connectionsEndpoint] = endpoints.connections;
      own[ENV.emitterConcurrency] = String(input.emitterConcurrency);
      if (input.runsWatchersCacheMs !== undefined)
        own[ENV.runsWatchersCacheMs] = String(input.runsWatchersCacheMs);
      break;
    case "failure-recorder":
      own[ENV.failureQueueUrl] = endpoints.failureQueueUrl;
      break;
    case "token":
      own[ENV.jwtSecret] = input.jwtSecret;
      own[ENV.tokenGrants] = input.tokenGrants;
      own[ENV.tokenDefaultTtlSeconds] = String(input.tokenDefaultTtlSeconds);
      own[ENV.tokenMaxTtlSeconds] = String(input.tokenMaxTtlSeconds);
      break;
    case "default":
      break;
  }
  return {
    env: { ...common, ...own },
    timeoutSeconds: input.timeoutSeconds?.[name] ?? spec.timeoutSeconds,
    memoryMb: spec.memoryMb,
  };
}
