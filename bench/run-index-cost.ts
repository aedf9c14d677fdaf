/**
 * What the runs list costs per run, measured: the run index's summary writes (lambdas/shared/
 * run-index.ts) for a typical run through the real adapter on dynalite, metered with DynamoDB's own
 * consumed capacity, and the reads of one `listRuns` page. Priced by `runIndexCostPerRun`
 * (bench/cost-model.ts). Run alone: `npx tsx bench/run-index-cost.ts`.
 */
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { dynamoRunIndex } from "../lambdas/shared/run-index.js";
import { createTableInput } from "../lib/table-design.js";
import { RUNS_PAGE_DEFAULT } from "../protocol/limits.js";
import type { EventName, TraceEvent } from "../protocol/trace-event.js";
import { type RunIndexMeasured, runIndexCostPerRun } from "./cost-model.js";
import { DynamoMeter, usageSince } from "./dynamo-meter.js";

/** A typical run: a plan, 20 tool calls, 10 model calls, 5 routing decisions, an end, over 90 s. */
export function typicalRun(traceId: string, startedAt: number): TraceEvent[] {
  const steps: [EventName, Record<string, unknown>][] = [["plan_created", { goal: "Refund order 4711" }]];
  for (let n = 0; n < 20; n++) {
    steps.push(["tool_call_start", { tool: "search", call_id: `t${n}` }]);
    steps.push(["tool_call_complete", { tool: "search", call_id: `t${n}`, duration_ms: 800 }]);
    if (n % 2 === 0) {
      steps.push(["llm_call_start", { call_id: `m${n}`, model: "m" }]);
      steps.push([
        "llm_call_complete",
        { call_id: `m${n}`, model: "m", input_tokens: 1500, output_tokens: 300, cost_usd: 0.004 },
      ]);
    }
    if (n % 4 === 0) steps.push(["route_decision", { agent: "planner" }]);
  }
  steps.push(["plan_completed", {}]);
  const spacing = 90_000 / steps.length;
  return steps.map(([event, metadata], seq) => ({
    event_id: crypto.randomUUID(),
    trace_id: traceId,
    seq,
    event,
    timestamp: new Date(startedAt + Math.round(seq * spacing)).toISOString(),
    status: event === "tool_call_start" || event === "llm_call_start" ? "pending" : "success",
    metadata,
    schema_version: 1,
  })) as TraceEvent[];
}

/** Meters one typical run's summary writes and one page of the list, on an empty table. */
export async function measureRunIndex(
  client: DynamoDBDocumentClient,
  tableName: string,
): Promise<RunIndexMeasured> {
  const meter = new DynamoMeter();
  meter.attach(client as unknown as DynamoDBClient);
  const index = dynamoRunIndex(client, tableName);
  const now = Date.UTC(2026, 11, 2, 12, 0, 0);
  const events = typicalRun("bench/run-0", now - 120_000);
  const before = meter.snapshot();
  for (const event of events) await index.recordEvent(event, 9_999_999_999);
  const writes = usageSince(meter.snapshot(), before);
  // A full page: more runs in the same day partition, then one listRuns page read.
  const others = dynamoRunIndex(client, tableName);
  for (let n = 1; n <= RUNS_PAGE_DEFAULT; n++) {
    for (const event of typicalRun(`bench/run-${n}`, now - 120_000 - n * 1000).slice(0, 3)) {
      await others.recordEvent(event, 9_999_999_999);
    }
  }
  const beforePage = meter.snapshot();
  const page = await index.recentRuns({ now, grants: ["*"], limit: RUNS_PAGE_DEFAULT, maxDays: 1 });
  const reads = usageSince(meter.snapshot(), beforePage);
  if (page.runs.length !== RUNS_PAGE_DEFAULT) throw new Error(`a page held ${page.runs.length} runs`);
  return {
    eventsPerRun: events.length,
    summaryWritesPerRun: writes.requests,
    summaryWriteUnitsPerRun: writes.writeUnits,
    pageRuns: page.runs.length,
    pageRequests: reads.requests,
    pageReadUnits: reads.readUnits,
  };
}

async function main(): Promise<void> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await raw.send(new CreateTableCommand(createTableInput("bench-runs")));
  const measured = await measureRunIndex(DynamoDBDocumentClient.from(raw), "bench-runs");
  for (const watchers of [0, 1, 10]) {
    console.log(JSON.stringify({ watchers, measured, ...runIndexCostPerRun(measured, watchers) }));
  }
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
