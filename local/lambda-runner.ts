import { randomBytes, randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { HandlerRuntime } from "../lambdas/shared/runtime.js";
import {
  FUNCTION_NAMES,
  type FunctionName,
  OPTIONAL_FUNCTION_NAMES,
  type OptionalFunctionName,
} from "../lib/function-names.js";
import { describeError, type LocalLogger } from "./log.js";
import { copyThroughJson } from "./safe-json.js";

/** The Lambda functions of trace-stream: the list the CDK construct deploys, options included. */
export const LAMBDA_FUNCTIONS = [...FUNCTION_NAMES, ...OPTIONAL_FUNCTION_NAMES] as const;
export type LambdaFunctionName = FunctionName | OptionalFunctionName;

export function isLambdaFunctionName(name: string): name is LambdaFunctionName {
  return (LAMBDA_FUNCTIONS as readonly string[]).includes(name);
}

// Method syntax keeps parameters bivariant, so handlers with precise event types fit.
interface HandlerShape {
  handler(event: unknown, context: Context): unknown;
}
/** A Lambda handler as `createHandler` returns it. */
export type LambdaHandler = HandlerShape["handler"];
/**
 * `createHandler` of `lambdas/<name>/handler.ts`: builds a handler from an environment record and,
 * locally, the stack's clock (so tests can move time for handlers too).
 */
export type HandlerFactory = (
  env: Record<string, string | undefined>,
  runtime: HandlerRuntime,
) => LambdaHandler;

export interface FunctionConfig {
  /** The function's environment, as the CDK stack sets it (read at cold start). */
  readonly env: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface LambdaRunnerOptions {
  /** Deployed function names are `${prefix}-${name}`. */
  readonly functionNamePrefix: string;
  readonly region: string;
  readonly account: string;
  /** Called at each cold start, so endpoints known only after start-up can be read then. */
  readonly config: (name: LambdaFunctionName) => FunctionConfig;
  readonly load: (name: LambdaFunctionName) => Promise<HandlerFactory>;
  /** What every handler gets besides its environment. */
  readonly runtime: HandlerRuntime;
  readonly log: LocalLogger;
}

export interface LambdaRunner {
  /**
   * Invokes a function as Lambda would: the event crosses a JSON boundary, the handler runs with a
   * Lambda context, and its error (or a timeout) rejects the returned promise.
   */
  invoke(name: string, event: unknown, options?: { readonly requestId?: string }): Promise<unknown>;
  /** Cold starts so far, per function. */
  coldStarts(): Readonly<Partial<Record<LambdaFunctionName, number>>>;
}

/** The error a Lambda invocation ends with when the handler outlives its timeout. */
export class LambdaTimeoutError extends Error {
  override readonly name = "Sandbox.Timedout";
}

/** Invoking a function the stack does not have (Lambda's ResourceNotFoundException). */
export class UnknownFunctionError extends Error {
  override readonly name = "ResourceNotFoundException";
}

interface Instance {
  readonly handler: LambdaHandler;
  readonly config: FunctionConfig;
  readonly logStreamName: string;
}

export function createLambdaRunner(options: LambdaRunnerOptions): LambdaRunner {
  const instances = new Map<LambdaFunctionName, Promise<Instance>>();
  const coldStarts: Partial<Record<LambdaFunctionName, number>> = {};
  const { log } = options;

  const functionName = (name: LambdaFunctionName) => `${options.functionNamePrefix}-${name}`;

  const instanceOf = (name: LambdaFunctionName): Promise<Instance> => {
    let instance = instances.get(name);
    if (!instance) {
      coldStarts[name] = (coldStarts[name] ?? 0) + 1;
      log.debug(`cold start: ${functionName(name)}`);
      instance = (async () => {
        const config = options.config(name);
        const factory = await options.load(name);
        return {
          handler: factory({ ...config.env }, options.runtime),
          config,
          logStreamName: logStreamName(),
        };
      })();
      // A failed init is retried on the next invoke, as Lambda re-runs init after an init error.
      instance.catch(() => instances.delete(name));
      instances.set(name, instance);
    }
    return instance;
  };

  return {
    async invoke(name, event, invokeOptions) {
      if (!isLambdaFunctionName(name)) throw new UnknownFunctionError(`Function not found: ${name}`);
      const requestId = invokeOptions?.requestId ?? randomUUID();
      let instance: Instance;
      try {
        instance = await instanceOf(name);
      } catch (error) {
        log.error(`${functionName(name)} failed to initialise: ${describeError(error)}`);
        throw error;
      }
      const payload = copyThroughJson(event ?? null);
      const deadline = Date.now() + instance.config.timeoutSeconds * 1000;
      const context = lambdaContext(functionName(name), options, instance, requestId, deadline);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Lambda discards an instance that timed out; the next invoke starts cold.
          instances.delete(name);
          reject(
            new LambdaTimeoutError(
              `Task timed out after ${instance.config.timeoutSeconds.toFixed(2)} seconds`,
            ),
          );
        }, instance.config.timeoutSeconds * 1000);
      });
      try {
        const result = await Promise.race([
          Promise.resolve().then(() => instance.handler(payload, context)),
          timeout,
        ]);
        return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
      } catch (error) {
        const expected = name === "authorizer" && error instanceof Error && error.message === "Unauthorized";
        const line = `${functionName(name)} ${requestId} failed: ${describeError(error)}`;
        if (expected) log.debug(line);
        else log.warn(line);
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    coldStarts: () => ({ ...coldStarts }),
  };
}

function lambdaContext(
  functionName: string,
  options: LambdaRunnerOptions,
  instance: Instance,
  requestId: string,
  deadline: number,
): Context {
  const unsupported = () => {
    throw new Error("context.done/fail/succeed are not supported: return or throw from an async handler");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${options.region}:${options.account}:function:${functionName}`,
    memoryLimitInMB: String(instance.config.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: instance.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  return `${day}/[$LATEST]${randomBytes(16).toString("hex")}`;
}
