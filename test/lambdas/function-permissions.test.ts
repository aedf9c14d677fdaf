import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as authorizer } from "../../lambdas/authorizer/handler.js";
import { createHandler as connect } from "../../lambdas/connect/handler.js";
import { createHandler as defaultRoute } from "../../lambdas/default/handler.js";
import { createHandler as disconnect } from "../../lambdas/disconnect/handler.js";
import { createHandler as emitter } from "../../lambdas/emitter/handler.js";
import { createHandler as failureRecorder } from "../../lambdas/failure-recorder/handler.js";
import { createHandler as resume } from "../../lambdas/resume/handler.js";
import { ENV } from "../../lambdas/shared/env-names.js";
import { dynamoRunsWatchers } from "../../lambdas/shared/runs-watchers.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import { FUNCTION_NAMES, type FunctionName } from "../../lib/function-names.js";
import { FUNCTION_PERMISSIONS } from "../../lib/function-permissions.js";
import type { HandlerFactory } from "../../local/index.js";
import {
  openSubscriber,
  putTraceEvents,
  startTestStack,
  type TestStack,
  traceEvent,
} from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";

/**
 * Every AWS request each handler makes, recorded on the wire while the local stack serves a
 * session that walks every path of the store adapter, must be allowed by the function's row in
 * lib/function-permissions.ts, and every row must be used: the table is what the code does.
 * Requests are named as IAM names them (`dynamodb:Query TRACE#`: the action and the partition-key
 * prefix that `dynamodb:LeadingKeys` sees; `execute-api:ManageConnections POST`).
 */

const FACTORIES: Record<FunctionName, HandlerFactory> = {
  authorizer,
  connect,
  disconnect,
  resume,
  default: defaultRoute,
  emitter,
  "failure-recorder": failureRecorder,
};

interface RecordingProxy {
  readonly url: string;
  readonly calls: Set<string>;
  /** Points the proxy at the services the handler's environment names, and the handler at the proxy. */
  proxied(env: Record<string, string | undefined>): Record<string, string | undefined>;
  close(): Promise<void>;
}

async function body(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const prefixOf = (key: unknown) => /^[A-Z]+#/.exec(String((key as { S?: string } | undefined)?.S))?.[0];

/** The partition keys a DynamoDB request touches, by operation. */
function partitionsOf(operation: string, input: Record<string, unknown>): (string | undefined)[] {
  const pk = (item: unknown) => prefixOf((item as Record<string, unknown> | undefined)?.pk);
  switch (operation) {
    case "PutItem":
      return [pk(input.Item)];
    case "GetItem":
    case "DeleteItem":
    case "UpdateItem":
      return [pk(input.Key)];
    case "Query": {
      // A query of the run index names its day partition; every other query its `pk`.
      const values = input.ExpressionAttributeValues as Record<string, unknown>;
      return [prefixOf(values[":pk"] ?? values[":day"])];
    }
    case "BatchGetItem":
      return Object.values(input.RequestItems as Record<string, { Keys: unknown[] }>)
        .flatMap((request) => request.Keys)
        .map(pk);
    case "BatchWriteItem":
      return Object.values(input.RequestItems as Record<string, unknown[]>)
        .flat()
        .map((write) => {
          const { DeleteRequest, PutRequest } = write as Record<string, Record<string, unknown>>;
          return pk(DeleteRequest?.Key ?? PutRequest?.Item);
        });
    default:
      return [undefined];
  }
}

async function recordingProxy(): Promise<RecordingProxy> {
  const calls = new Set<string>();
  const upstream = { dynamodb: "", sqs: "", connections: "" };
  const server = createServer(async (req, res) => {
    const payload = await body(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    let origin: string;
    if (target.startsWith("DynamoDB_20120810.")) {
      const operation = target.slice("DynamoDB_20120810.".length);
      for (const prefix of partitionsOf(operation, JSON.parse(payload.toString()))) {
        calls.add(`dynamodb:${operation} ${prefix}`);
      }
      origin = upstream.dynamodb;
    } else if (target.startsWith("AmazonSQS.")) {
      calls.add(`sqs:${target.slice("AmazonSQS.".length)}`);
      origin = upstream.sqs;
    } else if (req.url?.includes("/@connections/")) {
      calls.add(`execute-api:ManageConnections ${req.method}`);
      origin = upstream.connections;
    } else {
      calls.add(`unknown ${req.method} ${req.url} ${target}`);
      res.statusCode = 400;
      res.end();
      return;
    }
    const forwarded = httpRequest(
      new URL(req.url ?? "/", origin),
      { method: req.method, headers: { ...req.headers, host: new URL(origin).host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.destroy());
    forwarded.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const viaProxy = (value: string | undefined) =>
    value === undefined ? undefined : `${url}${new URL(value).pathname}`;
  return {
    url,
    calls,
    proxied(env) {
      upstream.dynamodb = env.AWS_ENDPOINT_URL_DYNAMODB ?? "";
      upstream.sqs = env.AWS_ENDPOINT_URL_SQS ?? "";
      const connections = env[ENV.connectionsEndpoint];
      upstream.connections = connections ? new URL(connections).origin : "";
      return {
        ...env,
        AWS_ENDPOINT_URL_DYNAMODB: url,
        AWS_ENDPOINT_URL_SQS: url,
        [ENV.connectionsEndpoint]: viaProxy(env[ENV.connectionsEndpoint]),
        [ENV.deadLetterQueueUrl]: viaProxy(env[ENV.deadLetterQueueUrl]),
        [ENV.failureQueueUrl]: viaProxy(env[ENV.failureQueueUrl]),
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The requests a function's row allows, named as recorded. */
function allowedCalls(name: FunctionName): Set<string> {
  const row = FUNCTION_PERMISSIONS[name];
  const allowed = new Set<string>();
  for (const grant of row.table ?? []) {
    for (const action of grant.actions)
      for (const prefix of grant.partitions) allowed.add(`${action} ${prefix}`);
  }
  if (row.postToConnections) allowed.add("execute-api:ManageConnections POST");
  if (row.sendTo) allowed.add("sqs:SendMessage");
  // readTokenSecret is left out: the local stack gives the authorizer its secret as a value.
  // test/lambdas/authorizer.test.ts covers the Secrets Manager read (GetSecretValue only).
  return allowed;
}

describe("the permission table is what the handlers call", () => {
  let stack: TestStack;
  const proxies = {} as Record<FunctionName, RecordingProxy>;

  beforeAll(async () => {
    for (const name of FUNCTION_NAMES) proxies[name] = await recordingProxy();
    const handlers = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [
        name,
        ((env, runtime) => FACTORIES[name](proxies[name].proxied(env), runtime)) satisfies HandlerFactory,
      ]),
    );
    stack = await startTestStack({ handlers });
    await session(stack);
  });
  afterAll(async () => {
    await stack?.stop();
    for (const proxy of Object.values(proxies)) await proxy.close();
  });

  it.each(FUNCTION_NAMES)("%s", (name) => {
    expect([...proxies[name].calls].sort()).toEqual([...allowedCalls(name)].sort());
  });
});

/**
 * A viewer's whole session plus the emitter's and resume's rarer paths: duplicate delivery, a
 * stale subscription answering 410, a client gone mid-replay, a rejected event, a failure record.
 */
async function session(stack: TestStack): Promise<void> {
  const traceId = `permissions-${process.pid}`;
  const store = dynamoTraceStore(stack.clients.dynamo, stack.tableName);
  const url = `${stack.endpoints.webSocketUrl}?traceId=${traceId}&token=${await stack.mintToken(traceId)}`;
  const viewer = await openSubscriber(url);

  const first = traceEvent(traceId, 0);
  await putTraceEvents(stack, [first, traceEvent(traceId, 1)]);
  await viewer.waitFor((frame) => frame.type === "event" && frame.seq === 1);
  await putTraceEvents(stack, [first]); // a redelivery: stored already, read back, posted again
  await stack.deliveriesIdle();

  // A subscription whose connection is gone (its $disconnect never ran): pruned on the next post.
  await store.putSubscription({ traceId, connectionId: "stale=", connectedAt: 0, expiresAt: 9_999_999_999 });
  await putTraceEvents(stack, [traceEvent(traceId, 2)]);
  await viewer.waitFor((frame) => frame.type === "event" && frame.seq === 2);

  const synced = () => viewer.frames().filter((frame) => frame.type === "synced").length;
  viewer.send({ action: "resume", afterSeq: -1 });
  await eventually(() => synced() === 1, "the first replay", 10_000);
  viewer.send({ action: "resume", afterSeq: 99 }); // nothing to send: reads the highest seq
  await eventually(() => synced() === 2, "the second replay", 10_000);

  // resume for a connection that is already gone: it deletes its subscription.
  await store.putSubscription({
    traceId,
    connectionId: "ghost=",
    connectedAt: Date.now(),
    expiresAt: 9_999_999_999,
  });
  await stack.invoke("resume", {
    requestContext: { connectionId: "ghost=", routeKey: "resume" },
    body: JSON.stringify({ action: "resume", afterSeq: -1 }),
  });

  // A rejected event goes to the dead-letter queue; a failure record to the failure queue.
  await stack.clients.eventBridge.send(
    new PutEventsCommand({
      Entries: [
        { EventBusName: stack.busName, Source: stack.source, DetailType: "not_an_event", Detail: "{}" },
      ],
    }),
  );
  await stack.invoke("failure-recorder", {
    requestContext: { requestId: "r-1", condition: "RetriesExhausted" },
    requestPayload: {},
  });

  // The runs list: a watcher connects, lists a page, gets a live update; a gone watcher is pruned.
  const watchers = dynamoRunsWatchers(stack.clients.dynamo, stack.tableName);
  const runs = await openSubscriber(
    `${stack.endpoints.webSocketUrl}?runs=1&token=${await stack.mintToken("permissions-*")}`,
  );
  await watchers.put({
    connectionId: "stale-runs=",
    grants: ["*"],
    connectedAt: 0,
    expiresAt: 9_999_999_999,
  });
  runs.send({ action: "listRuns" });
  await runs.waitFor((frame) => frame.type === "runs");
  stack.clock.advance(60_000); // past the emitter's watcher cache
  await putTraceEvents(stack, [
    traceEvent(traceId, 3, { event: "tool_call_start", metadata: { tool: "t", call_id: "c" } }),
  ]);
  await runs.waitFor((frame) => frame.type === "run");
  await eventually(
    async () => !(await watchers.list(10)).some((watcher) => watcher.connectionId === "stale-runs="),
    "the gone runs watcher pruned",
    10_000,
  );
  await runs.close();

  viewer.send({ action: "ping" });
  await viewer.waitFor((frame) => frame.type === "pong");
  viewer.send("ping");
  await viewer.waitFor((_frame, raw) => raw === "pong");

  await viewer.close();
  await stack.deliveriesIdle();
  await eventually(
    async () => (await store.traceOfConnection("stale=")) === undefined && stack.deadLetters().length > 0,
    "the stale subscription pruned and the rejection dead-lettered",
    10_000,
  );
  const subscribers = async () => {
    let count = 0;
    for await (const page of store.subscribers(traceId)) count += page.length;
    return count;
  };
  await eventually(async () => (await subscribers()) === 0, "the viewer's $disconnect to have run", 10_000);
}
