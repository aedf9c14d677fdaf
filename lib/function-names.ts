import type { RouteFunction } from "./routes.js";

/**
 * The Lambda functions of trace-stream (folder names under `lambdas/`), read by the CDK construct
 * and by the local stack's Lambda runner, so neither can forget one.
 */
export const FUNCTION_NAMES = [
  "authorizer",
  "connect",
  "disconnect",
  "resume",
  "default",
  "emitter",
  "failure-recorder",
] as const satisfies readonly (RouteFunction | "authorizer" | "emitter" | "failure-recorder")[];

export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * Functions the construct deploys only when their option is on (`tokenEndpoint`, `fanOut:
 * "stream"`); the local stack always has them, so everything an option can deploy is exercised
 * offline.
 */
export const OPTIONAL_FUNCTION_NAMES = ["token", "fan-out"] as const;

export type OptionalFunctionName = (typeof OPTIONAL_FUNCTION_NAMES)[number];
