/**
 * A local stack for tests: free ports, a clock the test moves, short retry delays, no log output,
 * official SDK clients pointed at it, and small helpers to put trace events and watch a trace.
 */
import { randomUUID } from "node:crypto";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import WebSocket from "ws";
import { keys, PARTITION_KEY, SORT_KEY } from "../../lib/table-design.js";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/index.js";
import type { TraceEvent } from "../../protocol/trace-event.js";

export interface TestClock {
  now(): number;
  /** Moves the clock forward (the TTL sweeper, event ages and queue visibility follow it). */
  advance(ms: number): void;
  set(epochMs: number): void;
}

export function createTestClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    advance: (ms) => {
      current += ms;
    },
    set: (epochMs) => {
      current = epochMs;
    },
  };
}

export interface TestStackClients {
  readonly eventBridge: EventBridgeClient;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly management: ApiGatewayManagementApiClient;
}

export interface TestStack extends LocalStack {
  readonly clock: TestClock;
  readonly clients: TestStackClients;
}

const credentials = { accessKeyId: "test", secretAccessKey: "test" };

// The AWS SDK's notice about its future Node requirement says nothing about the code under test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/**
 * The fan-out mode of test stacks that do not choose one: TRACE_STREAM_TEST_FAN_OUT=stream runs
 * the end-to-end suites against the coalesced, stream-fed fan-out instead of the direct one.
 */
export function testFanOutMode(): "direct" | "stream" {
  const mode = process.env.TRACE_STREAM_TEST_FAN_OUT ?? "direct";
  if (mode !== "direct" && mode !== "stream")
    throw new Error(`TRACE_STREAM_TEST_FAN_OUT must be "direct" or "stream", got "${mode}"`);
  return mode;
}

/**
 * Starts a stack on free ports with a test clock, 5–20 ms retry delays (EventBridge and Lambda's
 * asynchronous retries, and the stream mode's batch retries), a 50 ms reorder hold,
 * sweeps only on demand, and silence; any option can be overridden. The fan-out mode is
 * TRACE_STREAM_TEST_FAN_OUT's unless the options name one.
 */
export async function startTestStack(
  options: LocalStackOptions & { clock?: TestClock } = {},
): Promise<TestStack> {
  const clock = options.clock ?? createTestClock();
  const stack = await startLocalStack({
    ports: { webSocket: 0, eventBridge: 0, dynamodb: 0, tokenApi: 0 },
    quiet: true,
    sweepIntervalMs: 0,
    now: clock.now,
    fanOut: testFanOutMode(),
    ...options,
    // No batching window: the suites test what is delivered, not when (the stream tests set one).
    streamEventSource: { retryDelayMs: () => 10, maxBatchingWindowSeconds: 0, ...options.streamEventSource },
    retry: { baseDelayMs: 5, maxDelayMs: 20, ...options.retry },
    asyncRetry: { baseDelayMs: 5, maxDelayMs: 20, ...options.asyncRetry },
    faults: {
      ...options.faults,
      eventBridge: { reorderMaxHoldMs: 50, ...options.faults?.eventBridge },
    },
  });
  const region = stack.region;
  const dynamoClient = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region, credentials });
  const clients: TestStackClients = {
    eventBridge: new EventBridgeClient({ endpoint: stack.endpoints.eventBridge, region, credentials }),
    sqs: new SQSClient({ endpoint: stack.endpoints.sqs, region, credentials }),
    dynamo: DynamoDBDocumentClient.from(dynamoClient),
    management: new ApiGatewayManagementApiClient({
      endpoint: stack.endpoints.managementEndpoint,
      region,
      credentials,
    }),
  };
  const stop = stack.stop;
  return Object.assign(stack, {
    clock,
    clients,
    stop: async () => {
      for (const client of Object.values(clients)) client.destroy();
      dynamoClient.destroy();
      await stop();
    },
  });
}

/** A valid TraceEvent (a `route_decision` unless `event` says otherwise). */
/** Seqs stored for a trace, read consistently from the table. */
export async function storedSeqsOf(stack: TestStack, traceId: string): Promise<number[]> {
  const { Items = [] } = await stack.clients.dynamo.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :evt)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":evt": keys.eventPrefix },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => Number(item.seq));
}

export function traceEvent(traceId: string, seq: number, overrides: Partial<TraceEvent> = {}): TraceEvent {
  return {
    event_id: randomUUID(),
    trace_id: traceId,
    seq,
    event: "route_decision",
    timestamp: new Date().toISOString(),
    status: "success",
    metadata: { agent: "planner", reason: `step ${seq}` },
    schema_version: 1,
    ...overrides,
  } as TraceEvent;
}

/** Puts events on the stack's bus in batches of up to 10, as a producer would; throws on any failed entry. */
export async function putTraceEvents(
  stack: TestStack,
  events: readonly TraceEvent[],
): Promise<PutEventsCommandOutput[]> {
  const outputs: PutEventsCommandOutput[] = [];
  for (let i = 0; i < events.length; i += 10) {
    const output = await stack.clients.eventBridge.send(
      new PutEventsCommand({
        Entries: events.slice(i, i + 10).map((event) => ({
          EventBusName: stack.busName,
          Source: stack.source,
          DetailType: event.event,
          Detail: JSON.stringify(event),
        })),
      }),
    );
    if (output.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(output.Entries)}`);
    outputs.push(output);
  }
  return outputs;
}

/** A WebSocket client that records every message and lets a test wait for one. */
export interface Subscriber {
  readonly socket: WebSocket;
  /** Every text message received, in order. */
  readonly messages: string[];
  /** Messages that parsed as JSON, in order. */
  frames(): Array<Record<string, unknown>>;
  /** Resolves with the first message (already received or not) that satisfies `test`. */
  waitFor(
    test: (frame: Record<string, unknown>, raw: string) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  send(data: string | Record<string, unknown>): void;
  /** Resolves with the close code and reason. */
  closed(): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** The HTTP status of a refused WebSocket upgrade. */
export class UpgradeRefused extends Error {
  readonly statusCode: number;
  constructor(statusCode: number) {
    super(`WebSocket upgrade refused with HTTP ${statusCode}`);
    this.statusCode = statusCode;
  }
}

/** Opens a socket; resolves once open, rejects with `UpgradeRefused` for a refused upgrade. */
export function openSubscriber(url: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const messages: string[] = [];
    const listeners = new Set<() => void>();
    const closed = new Promise<{ code: number; reason: string }>((done) => {
      socket.on("close", (code, reason) => done({ code, reason: reason.toString() }));
    });
    const parse = (raw: string): Record<string, unknown> => {
      try {
        const value: unknown = JSON.parse(raw);
        return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : { raw };
      } catch {
        return { raw };
      }
    };
    socket.on("message", (data) => {
      messages.push(data.toString());
      for (const listener of listeners) listener();
    });
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      reject(new UpgradeRefused(response.statusCode ?? 0));
    });
    socket.once("error", reject);
    socket.once("open", () => {
      socket.off("error", reject);
      socket.on("error", () => undefined);
      resolve({
        socket,
        messages,
        frames: () => messages.map(parse),
        waitFor(test, timeoutMs = 10_000) {
          return new Promise((found, fail) => {
            let checked = 0;
            const check = () => {
              for (; checked < messages.length; checked++) {
                const raw = messages[checked] as string;
                const frame = parse(raw);
                if (test(frame, raw)) {
                  cleanup();
                  found(frame);
                  return;
                }
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              listeners.delete(check);
            };
            listeners.add(check);
            check();
          });
        },
        send: (data) => socket.send(typeof data === "string" ? data : JSON.stringify(data)),
        closed: () => closed,
        async close() {
          if (socket.readyState !== WebSocket.CLOSED) {
            socket.close();
            await closed;
          }
        },
      });
    });
  });
}
