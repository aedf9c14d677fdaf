import { randomUUID } from "node:crypto";
import { describeError, type LocalLogger } from "./log.js";
import { type Exhausted, RetryingDispatcher, type RetryPolicy } from "./retrying-dispatcher.js";

/**
 * The record Lambda sends to an on-failure destination when an asynchronous invocation has
 * exhausted its retries or outlived its maximum age.
 */
export interface LambdaFailureRecord {
  readonly version: "1.0";
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: "RetriesExhausted" | "EventAgeExceeded";
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responseContext: {
    readonly statusCode: 200;
    readonly executedVersion: "$LATEST";
    readonly functionError: "Unhandled";
  };
  readonly responsePayload: { readonly errorType: string; readonly errorMessage: string };
}

export interface AsyncInvokerOptions {
  readonly functionArn: string;
  /** Runs the function once (the Lambda runner's invoke), with the request id kept across retries. */
  readonly invoke: (event: unknown, requestId: string) => Promise<unknown>;
  /** The function's asynchronous invocation config: retries on function errors and maximum event age. */
  readonly retry: RetryPolicy;
  /** The on-failure destination. */
  readonly onFailure: (record: LambdaFailureRecord) => void | Promise<void>;
  /** Called with the event once its invocation ended: it succeeded, or its failure was recorded. */
  readonly onSettled?: (event: unknown) => void;
  readonly now: () => number;
  readonly log: LocalLogger;
}

interface AsyncRequest {
  readonly requestId: string;
  readonly event: unknown;
}

/**
 * Lambda's asynchronous invocation (`InvocationType: Event`), which is how EventBridge invokes a
 * function: the invoke is accepted at once, the function runs afterwards, a function error is
 * retried by Lambda (not by EventBridge), and an invocation that still fails goes to the
 * function's on-failure destination.
 */
export class AsyncInvoker {
  private readonly dispatcher: RetryingDispatcher<AsyncRequest>;

  private readonly options: AsyncInvokerOptions;
  constructor(options: AsyncInvokerOptions) {
    this.options = options;
    this.dispatcher = new RetryingDispatcher<AsyncRequest>({
      attempt: async ({ event, requestId }) => {
        await options.invoke(event, requestId);
        options.onSettled?.(event);
      },
      retry: options.retry,
      now: options.now,
      exhausted: (outcome) => this.failed(outcome),
      describe: ({ requestId }) => `async invocation ${requestId}`,
      log: options.log,
    });
  }

  /** Accepts the event (Lambda answers 202) and runs it later. */
  invokeAsync(event: unknown): void {
    this.dispatcher.submit({ requestId: randomUUID(), event });
  }

  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  async close(): Promise<void> {
    const dropped = await this.dispatcher.close();
    if (dropped > 0)
      this.options.log.warn(`stopped with ${dropped} asynchronous retries pending; they are dropped`);
  }

  private async failed(outcome: Exhausted<AsyncRequest>): Promise<void> {
    await this.recordFailure(outcome);
    this.options.onSettled?.(outcome.item.event);
  }

  private recordFailure({ item, error, condition, retries }: Exhausted<AsyncRequest>): void | Promise<void> {
    this.options.log.warn(
      `async invocation ${item.requestId} sent to the on-failure destination after ${retries + 1} attempts: ${describeError(error)}`,
    );
    return this.options.onFailure({
      version: "1.0",
      timestamp: new Date(this.options.now()).toISOString(),
      requestContext: {
        requestId: item.requestId,
        functionArn: `${this.options.functionArn}:$LATEST`,
        condition: condition === "MaximumRetryAttempts" ? "RetriesExhausted" : "EventAgeExceeded",
        approximateInvokeCount: retries + 1,
      },
      requestPayload: item.event,
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: {
        errorType: error instanceof Error ? error.name : "Error",
        errorMessage: describeError(error).replace(/^[^:]*: /, ""),
      },
    });
  }
}
