/**
 * What the emitter writes to its logs and to the table for each event, measured by running the
 * real core with the real Powertools telemetry (as lambdas/emitter/handler.ts composes it) against
 * the bench stack, with this process's stdout and stderr captured: the EMF document, the log lines
 * at INFO and at DEBUG, and the stored item as DynamoDB sizes it.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { managementClient } from "../lambdas/shared/aws-clients.js";
import { managementApiGateway } from "../lambdas/shared/connection-gateway.js";
import { createTelemetry } from "../lambdas/shared/telemetry.js";
import { keys, PARTITION_KEY, SORT_KEY } from "../lib/table-design.js";
import { benchEmitter } from "./bench-emitter.js";
import { benchEvent, envelopeOf } from "./bench-events.js";
import type { BenchStack } from "./bench-stack.js";
import type { PerEventBytes } from "./cost-model.js";
import { closeAll, openSockets } from "./sockets.js";

/** DynamoDB's per-item storage overhead (indexing), counted in storage and backups. */
const ITEM_OVERHEAD_BYTES = 100;

/**
 * An item's size as DynamoDB counts it: attribute names plus values (strings as UTF-8, numbers at
 * about one byte per two significant digits plus one), plus the per-item overhead.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let bytes = ITEM_OVERHEAD_BYTES;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (typeof value === "string") bytes += Buffer.byteLength(value);
    else if (typeof value === "number") bytes += Math.ceil(String(value).replace(/[-.]/g, "").length / 2) + 1;
    else bytes += Buffer.byteLength(JSON.stringify(value));
  }
  return bytes;
}

/** Runs `work` with stdout and stderr captured; resolves to the lines written. */
async function capturing(work: () => Promise<void>): Promise<string[]> {
  const chunks: string[] = [];
  const writes = [process.stdout.write, process.stderr.write] as const;
  const record = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    (rest.find((arg) => typeof arg === "function") as (() => void) | undefined)?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = record;
  process.stderr.write = record;
  try {
    await work();
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
  }
  return chunks
    .join("")
    .split("\n")
    .filter((line) => line.length > 0);
}

export async function measurePerEventBytes(bench: BenchStack, events = 20): Promise<PerEventBytes> {
  const { stack } = bench;
  const traceId = "bench-per-event-bytes";
  const sockets = await openSockets(() => bench.url(traceId), 1);
  let seq = 0;
  const measure = async (level: "INFO" | "DEBUG") => {
    const { log, metrics, beginInvocation } = createTelemetry({ POWERTOOLS_LOG_LEVEL: level }, "emitter");
    const emit = benchEmitter(bench.dynamo, stack.tableName, stack.source, {
      gateway: managementApiGateway(managementClient(stack.endpoints.managementEndpoint, bench.env)),
      log,
      metrics,
    });
    const lines = await capturing(async () => {
      for (let i = 0; i < events; i++) {
        beginInvocation();
        await emit(envelopeOf(benchEvent(traceId, seq++), stack.source));
        metrics.flush();
      }
    });
    const bytes = (list: string[]) =>
      list.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0) / events;
    const emf = lines.filter((line) => line.startsWith('{"_aws"'));
    return { emf: bytes(emf), logs: bytes(lines.filter((line) => !emf.includes(line))) };
  };
  try {
    const info = await measure("INFO");
    const debug = await measure("DEBUG");
    const { Item } = await bench.dynamo.send(
      new GetCommand({
        TableName: stack.tableName,
        Key: { [PARTITION_KEY]: keys.trace(traceId), [SORT_KEY]: keys.event(0) },
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new Error("the measured event was not stored");
    return {
      emfBytes: Math.round(info.emf),
      infoLogBytes: Math.round(info.logs),
      debugLogBytes: Math.round(debug.logs),
      storedItemBytes: dynamoItemBytes(Item),
    };
  } finally {
    await closeAll(sockets);
  }
}
