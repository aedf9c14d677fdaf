/**
 * A local stack that keeps every trace of what passed through it, so an attack test can look for
 * a secret in all of them: table items, frames a viewer received, both queues, and every line the
 * process printed (the stack's own lines and the handlers' Powertools logs).
 */
import { randomUUID } from "node:crypto";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { LocalStackOptions } from "../../local/index.js";
import { openSubscriber, type Subscriber, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { type CapturedOutput, captureOutput } from "../security/captured-output.js";

export interface AttackStack {
  readonly stack: TestStack;
  readonly output: CapturedOutput;
  /** A viewer of `traceId`, subscribed and synced before the attack. */
  watch(traceId: string): Promise<Subscriber>;
  /** Puts one entry with any detail (a string is sent as it is); resolves with the entry's result. */
  put(detail: unknown, detailType?: string): Promise<{ failed: boolean }>;
  /** Every place a secret could land, as one text per place. */
  places(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startAttackStack(options: LocalStackOptions = {}): Promise<AttackStack> {
  const output = captureOutput();
  const viewers: Subscriber[] = [];
  let stack: TestStack;
  try {
    stack = await startTestStack({ logLevel: "debug", quiet: false, logSink: output.sink, ...options });
  } catch (error) {
    output.stop();
    throw error;
  }
  return {
    stack,
    output,
    async watch(traceId) {
      const viewer = await openSubscriber(stack.connectUrl(traceId, await stack.mintToken(traceId)));
      viewers.push(viewer);
      viewer.send({ action: "resume", afterSeq: -1 });
      await viewer.waitFor((frame) => frame.type === "synced");
      return viewer;
    },
    async put(detail, detailType = "tool_call_start") {
      const result = await stack.clients.eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: stack.busName,
              Source: stack.source,
              DetailType: detailType,
              Detail: typeof detail === "string" ? detail : JSON.stringify(detail),
            },
          ],
        }),
      );
      return { failed: (result.FailedEntryCount ?? 0) > 0 };
    },
    async places() {
      const { Items = [] } = await stack.clients.dynamo.send(
        new ScanCommand({ TableName: stack.tableName, ConsistentRead: true }),
      );
      return {
        table: JSON.stringify(Items),
        frames: viewers.map((viewer) => viewer.messages.join("\n")).join("\n"),
        deadLetters: JSON.stringify(stack.deadLetters()),
        emitterFailures: JSON.stringify(stack.emitterFailures()),
        logs: output.text(),
      };
    },
    async stop() {
      for (const viewer of viewers) await viewer.close();
      await stack.stop();
      output.stop();
    },
  };
}

/** `{ place: [secret, ...] }` for every secret found in a place; empty when nothing leaked. */
export function leaks(places: Record<string, string>, secrets: readonly string[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const [place, text] of Object.entries(places)) {
    const hits = secrets.filter((secret) => text.includes(secret));
    if (hits.length > 0) found[place] = hits;
  }
  return found;
}

/** A trace event as a producer that skips the SDK would put it. */
export function rawEvent(traceId: string, seq: number, metadata: unknown, event = "tool_call_start") {
  return {
    event_id: randomUUID(),
    trace_id: traceId,
    seq,
    event,
    timestamp: new Date().toISOString(),
    status: "pending",
    metadata,
    schema_version: 1,
  };
}
