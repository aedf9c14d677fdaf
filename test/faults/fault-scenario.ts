/**
 * One fault scenario: a few real clients watch a trace, the producer's events go through the local
 * EventBridge while a fault is on, and afterwards every client must have shown exactly the
 * producer's sequence.
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "vitest";
import type { TraceStreamClientOptions } from "../../client/trace-stream-client.js";
import { keys } from "../../lib/table-design.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { putTraceEvents, type TestStack } from "../helpers/local-stack.js";
import {
  compareDelivery,
  eventually,
  isComplete,
  summarize,
  terminatedRun,
  type Watcher,
  watchTrace,
} from "../soak/trace-watchers.js";

let counter = 0;
export const newTraceId = (name: string) => `fault-${name}-${process.pid}-${++counter}`;

/** Starts `count` clients on the trace and waits until each is live (subscribed, history read). */
export async function liveWatchers(
  stack: TestStack,
  traceId: string,
  count: number,
  overrides: Partial<TraceStreamClientOptions> = {},
): Promise<Watcher[]> {
  const watchers = Array.from({ length: count }, () => watchTrace(stack, traceId, overrides));
  for (const watcher of watchers) watcher.client.connect();
  await eventually(
    () => watchers.every((watcher) => watcher.client.state.status === "live"),
    "every client to be live",
  );
  return watchers;
}

/** Puts the events in batches of `batch`, running `between(i)` after each batch. */
export async function produceInBatches(
  stack: TestStack,
  events: readonly TraceEvent[],
  batch: number,
  between: (index: number) => Promise<void> | void = () => undefined,
): Promise<void> {
  for (let i = 0; i < events.length; i += batch) {
    await putTraceEvents(stack, events.slice(i, i + batch));
    await between(i / batch);
  }
}

/** Waits until every client ended with nothing missing, then checks each against the producer. */
export async function expectEveryClientShowedExactly(
  watchers: readonly Watcher[],
  produced: readonly TraceEvent[],
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(() => watchers.every(isComplete), "every client to end with nothing missing", timeoutMs);
  const summary = summarize(
    watchers.map((watcher) => ({ traceId: watcher.traceId, ...compareDelivery(watcher, produced) })),
  );
  for (const watcher of watchers) watcher.client.disconnect();
  expect(summary).toMatchObject({ lost: 0, duplicated: 0, altered: 0, sequencesNotEqual: 0 });
}

/** Connection ids subscribed to a trace, read as the emitter reads them. */
export async function subscribedConnections(stack: TestStack, traceId: string): Promise<string[]> {
  const { Items = [] } = await stack.clients.dynamo.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :conn)",
      ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":conn": keys.connectionPrefix },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.sk).slice(keys.connectionPrefix.length)).sort();
}

export { storedSeqsOf as storedSeqs } from "../helpers/local-stack.js";
export { terminatedRun };
