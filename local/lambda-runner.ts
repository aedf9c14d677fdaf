import { randomBytes, randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { HandlerRuntime } from "../lambdas/shared/runtime.js";
import {
  FUNCTION_NAMES,
  type FunctionName,
  OPTIONAL_FUNCTION_NAMES,
  type OptionalFunctionName,
} from "../lib/function-names.js";
import { ACCOUNT_CONCURRENCY } from "../lib/function-specs.js";
import { ConcurrencyPool } from "./concurrency-pool.js";
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
  /** What every handler gets besides its environment (each execution environment adds its signal). */
  readonly runtime: Omit<HandlerRuntime, "signal">;
  /** Reserved concurrency per function, as deployed; the others share the account's rest. */
  readonly reservedConcurrency: Readonly<Partial<Record<LambdaFunctionName, number>>>;
  /** The account's concurrency quota. @default ACCOUNT_CONCURRENCY */
  readonly accountConcurrency?: number;
  /**
   * How long a timed-out execution may take to stop its I/O (its handler honours
   * `runtime.signal`) before its slot is freed regardless. @default 2000
   */
  readonly stopGraceMs?: number;
  readonly log: LocalLogger;
}

export interface InvokeOptions {
  readonly requestId?: string;
  /**
   * `Event` (asynchronous: EventBridge, destinations) waits in the function's queue for a free
   * execution; `RequestResponse` (API Gateway) is throttled at once when none is free.
   * @default "RequestResponse"
   */
  readonly invocationType?: "RequestResponse" | "Event";
}

export interface LambdaRunner {
  /**
   * Invokes a function as Lambda would: the event crosses a JSON boundary, the handler runs with a
   * Lambda context in an execution environment of its own, and its error (or a timeout, or a
   * throttle) rejects the returned promise.
   */
  invoke(name: string, event: unknown, options?: InvokeOptions): Promise<unknown>;
  /** Cold starts so far (execution environments created), per function. */
  coldStarts(): Readonly<Partial<Record<LambdaFunctionName, number>>>;
  /** Executions running and invocations queued now, per function. */
  concurrency(name: LambdaFunctionName): { readonly running: number; readonly queued: number };
}

/** The error a Lambda invocation ends with when the handler outlives its timeout. */
export class LambdaTimeoutError extends Error {
  override readonly name = "Sandbox.Timedout";
}

/** Invoking a function the stack does not have (Lambda's ResourceNotFoundException). */
export class UnknownFunctionError extends Error {
  override readonly name = "ResourceNotFoundException";
}

/** A synchronous invoke while every execution the function may have is busy (HTTP 429). */
export class TooManyRequestsError extends Error {
  override readonly name = "TooManyRequestsException";
  readonly reason: "ReservedFunctionConcurrentInvocationLimitExceeded" | "ConcurrentInvocationLimitExceeded";
  constructor(reason: TooManyRequestsError["reason"]) {
    super("Rate Exceeded.");
    this.reason = reason;
  }
}

/**
 * One execution environment: an initialised handler that runs one invocation at a time. Its signal
 * aborts when the environment is discarded after a timeout, which is when Lambda stops the process;
 * handlers pass it to their clients so that no post or write leaves a timed-out execution.
 */
interface Instance {
  readonly handler: LambdaHandler;
  readonly config: FunctionConfig;
  readonly logStreamName: string;
  readonly stop: AbortController;
}

const DEFAULT_STOP_GRACE_MS = 2_000;

export function createLambdaRunner(options: LambdaRunnerOptions): LambdaRunner {
  const idle = new Map<LambdaFunctionName, Instance[]>();
  const coldStarts: Partial<Record<LambdaFunctionName, number>> = {};
  const { log } = options;
  const stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;

  const reservedTotal = Object.values(options.reservedConcurrency).reduce((sum, n) => sum + (n ?? 0), 0);
  const unreserved = new ConcurrencyPool(
    Math.max(1, (options.accountConcurrency ?? ACCOUNT_CONCURRENCY) - reservedTotal),
  );
  const pools = new Map<LambdaFunctionName, ConcurrencyPool>();
  const poolOf = (name: LambdaFunctionName): ConcurrencyPool => {
    let pool = pools.get(name);
    if (!pool) {
      const reserved = options.reservedConcurrency[name];
      pool = reserved === undefined ? unreserved : new ConcurrencyPool(reserved);
      pools.set(name, pool);
    }
    return pool;
  };

  const functionName = (name: LambdaFunctionName) => `${options.functionNamePrefix}-${name}`;

  const newInstance = async (name: LambdaFunctionName): Promise<Instance> => {
    coldStarts[name] = (coldStarts[name] ?? 0) + 1;
    log.debug(`cold start: ${functionName(name)}`);
    const config = options.config(name);
    const factory = await options.load(name);
    const stop = new AbortController();
    return {
      handler: factory({ ...config.env }, { ...options.runtime, signal: stop.signal }),
      config,
      logStreamName: logStreamName(),
      stop,
    };
  };

  /** Runs one invocation in a free execution environment (a warm one when there is one). */
  const execute = async (name: LambdaFunctionName, event: unknown, requestId: string) => {
    const warm = idle.get(name) ?? [];
    idle.set(name, warm);
    let instance = warm.pop();
    if (!instance) {
      try {
        instance = await newInstance(name);
      } catch (error) {
        // A failed init is retried on the next invoke, as Lambda re-runs init after an init error.
        log.error(`${functionName(name)} failed to initialise: ${describeError(error)}`);
        throw error;
      }
    }
    const { timeoutSeconds } = instance.config;
    const payload = copyThroughJson(event ?? null);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const context = lambdaContext(functionName(name), options, instance, requestId, deadline);
    const running = Promise.resolve().then(() => (instance as Instance).handler(payload, context));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutSeconds * 1000);
    });
    const outcome = await Promise.race([running.then(settled, failed), timedOut]);
    clearTimeout(timer);
    if (outcome === TIMED_OUT) {
      const error = new LambdaTimeoutError(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
      // Lambda stops a timed-out execution environment and starts the next invoke cold; here its
      // signal stops the handler's I/O, and the execution is over once the handler has returned.
      instance.stop.abort(error);
      await stopped(running, stopGraceMs, () =>
        log.error(
          `${functionName(name)} ${requestId} is still running ${stopGraceMs} ms after its timeout: its handler does not honour runtime.signal`,
        ),
      );
      throw error;
    }
    warm.push(instance);
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  };

  return {
    async invoke(name, event, invokeOptions) {
      if (!isLambdaFunctionName(name)) throw new UnknownFunctionError(`Function not found: ${name}`);
      const requestId = invokeOptions?.requestId ?? randomUUID();
      const pool = poolOf(name);
      if (invokeOptions?.invocationType === "Event") await pool.acquire();
      else if (!pool.tryAcquire()) {
        const reserved = options.reservedConcurrency[name] !== undefined;
        log.warn(`${functionName(name)} throttled: ${pool.limit} executions busy`);
        throw new TooManyRequestsError(
          reserved
            ? "ReservedFunctionConcurrentInvocationLimitExceeded"
            : "ConcurrentInvocationLimitExceeded",
        );
      }
      try {
        const result = await execute(name, event, requestId);
        return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown);
      } catch (error) {
        const expected = name === "authorizer" && error instanceof Error && error.message === "Unauthorized";
        const line = `${functionName(name)} ${requestId} failed: ${describeError(error)}`;
        if (expected) log.debug(line);
        else log.warn(line);
        throw error;
      } finally {
        pool.release();
      }
    },
    coldStarts: () => ({ ...coldStarts }),
    concurrency(name) {
      const pool = poolOf(name);
      return { running: pool.inUse, queued: pool.queued };
    },
  };
}

const TIMED_OUT = Symbol("timed out");
const settled = (value: unknown) => ({ value });
const failed = (error: unknown) => ({ error });

/** Resolves once `running` has settled, or after `graceMs` (calling `late` then). */
async function stopped(running: Promise<unknown>, graceMs: number, late: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const ended = await Promise.race([
    running.then(
      () => true,
      () => true,
    ),
    grace,
  ]);
  clearTimeout(timer);
  if (!ended) late();
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
