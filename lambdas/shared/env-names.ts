/**
 * Environment variable names of the Lambda functions. The CDK stack sets them and the local stack
 * sets the same names, so handlers cannot tell the two apart.
 */
export const ENV = {
  /** DynamoDB table of subscriptions and events (all functions but authorizer, ping, default). */
  tableName: "TABLE_NAME",
  /** Management API endpoint, https://{api-id}.execute-api.{region}.amazonaws.com/{stage}. */
  connectionsEndpoint: "CONNECTIONS_ENDPOINT",
  /** Emitter: queue that receives rejected events with their reason. */
  deadLetterQueueUrl: "DEAD_LETTER_QUEUE_URL",
  /** Failure recorder: queue that keeps the emitter's exhausted invocations, redacted. */
  failureQueueUrl: "FAILURE_QUEUE_URL",
  /** Emitter: the only event source it accepts. */
  eventSource: "EVENT_SOURCE",
  /** Emitter: days a stored event is kept. */
  eventRetentionDays: "EVENT_RETENTION_DAYS",
  /** Emitter: maximum concurrent @connections posts. */
  emitterConcurrency: "EMITTER_CONCURRENCY",
  /**
   * Emitter: "direct" (the default) posts each event to its watchers; "stream" only stores it, and
   * the fan-out function posts it from the table's stream (lambdas/fan-out).
   */
  fanOutMode: "FAN_OUT_MODE",
  /** Connect: most subscribers one trace may have at once. */
  maxSubscribersPerTrace: "MAX_SUBSCRIBERS_PER_TRACE",
  /** Connect: most connections watching the runs list at once. */
  maxRunsWatchers: "MAX_RUNS_WATCHERS",
  /**
   * Emitter: how long a container reuses the list of runs watchers it read, in milliseconds
   * (default 2000). A watcher that connected since may miss run updates for that long.
   */
  runsWatchersCacheMs: "RUNS_WATCHERS_CACHE_MS",
  /** Authorizer: HS256 secret as a value (local stack and tests only). */
  jwtSecret: "JWT_SECRET",
  /** Authorizer: HS256 secret held in Secrets Manager (deployed stacks). */
  jwtSecretArn: "JWT_SECRET_ARN",
  /** Authorizer: OIDC issuer's JWKS URL; when set, tokens are verified against it instead. */
  jwksUrl: "JWKS_URL",
  /** Authorizer: required `iss` claim (optional for HS256, required with a JWKS). */
  jwtIssuer: "JWT_ISSUER",
  /** Authorizer: required audience (optional for HS256, required with a JWKS). */
  jwtAudience: "JWT_AUDIENCE",
  /** Authorizer (JWKS): required `token_use` of tokens that carry one, "access" (default) or "id". */
  jwtTokenUse: "JWT_TOKEN_USE",
  /** Authorizer: longest token lifetime (`exp - iat`) accepted, in seconds (default one day). */
  jwtMaxLifetimeSeconds: "JWT_MAX_LIFETIME_SECONDS",
  /** Token endpoint: the token policy, JSON rules `[{"principals": [...], "traces": [...]}]`. */
  tokenGrants: "TOKEN_GRANTS",
  /** Token endpoint: lifetime of a token when the caller names none, in seconds (default 900). */
  tokenDefaultTtlSeconds: "TOKEN_DEFAULT_TTL_SECONDS",
  /** Token endpoint: longest lifetime a caller may ask for, in seconds (default 3600). */
  tokenMaxTtlSeconds: "TOKEN_MAX_TTL_SECONDS",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
