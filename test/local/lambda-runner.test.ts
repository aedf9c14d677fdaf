import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/env-names.js";
import { type HandlerFactory, LAMBDA_FUNCTIONS, type LambdaFunctionName } from "../../local/index.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

interface Invocation {
  readonly env: Record<string, string | undefined>;
  readonly event: unknown;
  readonly context: Context;
  readonly remainingMs: number;
}

const invocations: Partial<Record<LambdaFunctionName, Invocation[]>> = {};
const factoryCalls: Partial<Record<LambdaFunctionName, number>> = {};

/** Stand-ins that record what Lambda would hand them. */
function recorder(name: LambdaFunctionName): HandlerFactory {
  return (env) => {
    factoryCalls[name] = (factoryCalls[name] ?? 0) + 1;
    return async (event: unknown, context: Context) => {
      const calls = invocations[name] ?? [];
      invocations[name] = calls;
      calls.push({ env, event, context, remainingMs: context.getRemainingTimeInMillis() });
      if ((event as { fail?: string }).fail) throw new Error((event as { fail: string }).fail);
      return name === "default" ? undefined : { statusCode: 200, echoed: event };
    };
  };
}

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    handlers: Object.fromEntries(LAMBDA_FUNCTIONS.map((name) => [name, recorder(name)])),
    eventRetentionDays: 3,
    emitterConcurrency: 4,
  });
});
afterAll(() => stack.stop());

const envOf = async (name: LambdaFunctionName) => {
  await stack.invoke(name, { probe: true });
  return invocations[name]?.at(-1)?.env ?? {};
};

describe("the Lambda runner", () => {
  it("creates no handler until a function is first invoked, then reuses it", async () => {
    expect(factoryCalls.resume).toBeUndefined();
    await stack.invoke("resume", {});
    await stack.invoke("resume", {});
    expect(factoryCalls.resume).toBe(1);
    expect(invocations.resume).toHaveLength(2);
  });

  it("gives each function the CDK's variable names and only its own", async () => {
    const own = {
      authorizer: [ENV.jwtSecret],
      connect: [ENV.tableName],
      disconnect: [ENV.tableName],
      default: [],
      resume: [ENV.tableName, ENV.connectionsEndpoint, ENV.eventRetentionDays],
      emitter: [
        ENV.tableName,
        ENV.connectionsEndpoint,
        ENV.deadLetterQueueUrl,
        ENV.eventSource,
        ENV.eventRetentionDays,
        ENV.emitterConcurrency,
        ENV.fanOutMode,
      ],
      "fan-out": [ENV.tableName, ENV.connectionsEndpoint, ENV.emitterConcurrency],
      "failure-recorder": [ENV.failureQueueUrl],
      token: [ENV.jwtSecret, ENV.tokenGrants, ENV.tokenDefaultTtlSeconds, ENV.tokenMaxTtlSeconds],
    } satisfies Record<LambdaFunctionName, string[]>;
    const allOwn = new Set(Object.values(own).flat());
    for (const name of LAMBDA_FUNCTIONS) {
      const env = await envOf(name);
      const present = Object.keys(env).filter((key) => allOwn.has(key as never));
      expect(present.sort(), name).toEqual([...own[name]].sort());
    }
  });

  it("points the functions at the local services", async () => {
    const emitter = await envOf("emitter");
    expect(emitter).toMatchObject({
      TABLE_NAME: "trace-stream-local",
      CONNECTIONS_ENDPOINT: stack.endpoints.managementEndpoint,
      DEAD_LETTER_QUEUE_URL: stack.endpoints.deadLetterQueueUrl,
      EVENT_SOURCE: "trace-stream",
      EVENT_RETENTION_DAYS: "3",
      EMITTER_CONCURRENCY: "4",
      AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: stack.endpoints.sqs,
      AWS_REGION: "us-east-1",
      POWERTOOLS_SERVICE_NAME: "trace-stream",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    expect(emitter.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(emitter.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    expect((await envOf("authorizer")).JWT_SECRET).toBe(stack.secret);
  });

  it("passes a Lambda-like context and a copy of the event", async () => {
    const event = { nested: { value: 1 } };
    await stack.invoke("connect", event);
    const call = invocations.connect?.at(-1) as Invocation;
    expect(call.event).toEqual(event);
    expect(call.event).not.toBe(event);
    expect(call.context).toMatchObject({
      functionName: "trace-stream-local-connect",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:trace-stream-local-connect",
      memoryLimitInMB: "256",
      logGroupName: "/aws/lambda/trace-stream-local-connect",
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(call.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(call.context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(call.remainingMs).toBeGreaterThan(0);
    expect(call.remainingMs).toBeLessThanOrEqual(10_000);
  });

  it("returns the handler's result across a JSON boundary (undefined becomes null)", async () => {
    expect(await stack.invoke("disconnect", { a: 1 })).toEqual({ statusCode: 200, echoed: { a: 1 } });
    expect(await stack.invoke("default", {})).toBeNull();
  });

  it("rejects with the handler's error", async () => {
    await expect(stack.invoke("connect", { fail: "boom" })).rejects.toThrow("boom");
  });

  it("retries a failed initialisation on the next invoke", async () => {
    let failures = 1;
    const flaky = await startTestStack({
      handlers: {
        connect: (env, runtime) => {
          if (failures-- > 0) throw new Error("init failed");
          return recorder("connect")(env, runtime);
        },
      },
    });
    try {
      await expect(flaky.invoke("connect", {})).rejects.toThrow("init failed");
      await expect(flaky.invoke("connect", {})).resolves.toMatchObject({ statusCode: 200 });
    } finally {
      await flaky.stop();
    }
  });

  it("refuses a function it does not have", async () => {
    await expect(stack.invoke("nope" as LambdaFunctionName, {})).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});
