import { describe, expect, it } from "vitest";
import {
  ASSUMED_EVENTS_PER_SECOND_PER_VIEWER,
  type CostModel,
  costByFanOutMode,
  costPerMillionEvents,
  emitterLogBytesPerEvent,
  eventsPerBatch,
  LAMBDA_PLATFORM_LOG_BYTES,
  type ModeMeasurements,
  type PerEventBytes,
  PRICES_USD,
  RUN_FRAME_BYTES,
  runIndexCostPerRun,
  STACK_DEFAULTS,
  xraySampledShare,
} from "../../bench/cost-model.js";
import type { FanOutSide } from "../../bench/fan-out.js";
import { dynamoItemBytes } from "../../bench/per-event-bytes.js";
import { measureRunIndex, typicalRun } from "../../bench/run-index-cost.js";
import { changesSummary } from "../../lambdas/shared/run-index.js";
import { FAN_OUT_STREAM } from "../../lib/fan-out-stream.js";
import { DEFAULT_LOG_SAMPLE_RATE } from "../../lib/trace-stream-api.js";
import { DEFAULT_EVENT_RETENTION_DAYS } from "../../protocol/limits.js";
import { startTestTable } from "../helpers/dynalite.js";

const measured: FanOutSide = {
  msPerEvent: 15,
  p95MsPerEvent: 30,
  handlerMs: 15,
  itemsReadPerEvent: 1,
  readUnitsPerEvent: 1,
  writeUnitsPerEvent: 1,
  dynamoRequestsPerEvent: 2,
  frameBytes: 300,
};
const perEvent: PerEventBytes = { emfBytes: 480, infoLogBytes: 0, debugLogBytes: 400, storedItemBytes: 700 };
const GB = 1024 ** 3;
const MILLION = 1_000_000;

const model = (settings = STACK_DEFAULTS): CostModel =>
  costPerMillionEvents({ ours: measured, baseline: measured }, 350, 10_000, perEvent, settings);
const line = (side: CostModel["ours"], prefix: string) => {
  const found = side.lines.find((entry) => entry.item.startsWith(prefix));
  if (!found)
    throw new Error(`no cost line starting "${prefix}" in ${side.lines.map((l) => l.item).join("; ")}`);
  return found;
};

describe("cost model: what the stack's settings add per million events", () => {
  it("uses the construct's real defaults", () => {
    expect(STACK_DEFAULTS.logSampleRate).toBe(DEFAULT_LOG_SAMPLE_RATE);
    expect(STACK_DEFAULTS.eventRetentionDays).toBe(DEFAULT_EVENT_RETENTION_DAYS);
    expect(STACK_DEFAULTS.tracing).toBe(false);
  });

  it("prices log ingestion: Lambda's own lines for both designs, plus our EMF and sampled DEBUG lines", () => {
    const { ours, baseline } = model();
    const heartbeats =
      MILLION / ASSUMED_EVENTS_PER_SECOND_PER_VIEWER / STACK_DEFAULTS.heartbeatIntervalSeconds;
    // A heartbeat is answered by API Gateway's mock integration: an access-log line, no Lambda.
    const heartbeatBytes = heartbeats * 450;
    const oursBytes = MILLION * (LAMBDA_PLATFORM_LOG_BYTES + 480 + 0.01 * 400) + heartbeatBytes;
    const baselineBytes = MILLION * LAMBDA_PLATFORM_LOG_BYTES + heartbeatBytes;
    expect(line(ours, "CloudWatch Logs ingested").units).toBeCloseTo(oursBytes / GB, 6);
    expect(line(ours, "CloudWatch Logs ingested").usd).toBeCloseTo(
      (oursBytes / GB) * PRICES_USD.logsIngestedGb,
      6,
    );
    expect(line(baseline, "CloudWatch Logs ingested").units).toBeCloseTo(baselineBytes / GB, 6);
    expect(line(ours, "CloudWatch Logs stored").units).toBeCloseTo((oursBytes / GB) * (30 / (365 / 12)), 6);
  });

  it("charges the per-event line on every event when every invocation logs it (INFO as before)", () => {
    expect(emitterLogBytesPerEvent(perEvent, { ...STACK_DEFAULTS, logSampleRate: 1 })).toBe(880);
    expect(emitterLogBytesPerEvent(perEvent, STACK_DEFAULTS)).toBe(484);
    expect(
      line(model({ ...STACK_DEFAULTS, logSampleRate: 1 }).ours, "CloudWatch Logs ingested").usd,
    ).toBeGreaterThan(line(model().ours, "CloudWatch Logs ingested").usd);
  });

  it("records no X-Ray traces with tracing off, and Lambda's sampled share at $5 per million with it on", () => {
    expect(line(model().ours, "X-Ray traces recorded").units).toBe(0);
    const traced = line(model({ ...STACK_DEFAULTS, tracing: true }).ours, "X-Ray traces recorded");
    // 1 a second, then 5% of the rest, at 5 events a second: 24% of invocations.
    expect(xraySampledShare(5)).toBeCloseTo(0.24, 10);
    expect(xraySampledShare(0.5)).toBe(1);
    expect(traced.units).toBeCloseTo(MILLION * 0.24, 3);
    expect(traced.usd).toBeCloseTo(traced.units * 5e-6, 6);
  });

  it("prices data transfer out, heartbeats, and storage with its point-in-time-recovery copy", () => {
    const { ours, baseline } = model();
    const heartbeats = MILLION / 5 / 30;
    expect(line(ours, "Data transfer out").units).toBeCloseTo((MILLION * 300 + heartbeats * 15) / GB, 9);
    expect(line(ours, "Heartbeat messages").units).toBeCloseTo(2 * heartbeats, 6);
    expect(ours.lines.some((cost) => cost.item.startsWith("Heartbeat Lambda"))).toBe(false);
    const gbMonths = ((MILLION * 700) / GB) * (7 / (365 / 12));
    expect(line(ours, "DynamoDB storage").units).toBeCloseTo(gbMonths, 9);
    expect(line(ours, "DynamoDB storage").usd).toBeCloseTo(gbMonths * 0.25, 9);
    expect(line(ours, "DynamoDB point-in-time recovery").usd).toBeCloseTo(gbMonths * 0.2, 9);
    expect(line(baseline, "DynamoDB storage").units).toBe(0);
  });

  it("totals every line, for both designs, with the same lines in the same order", () => {
    const { ours, baseline, ratio } = model();
    expect(ours.lines.map((entry) => entry.item)).toEqual(baseline.lines.map((entry) => entry.item));
    expect(ours.totalUsd).toBeCloseTo(
      ours.lines.reduce((sum, entry) => sum + entry.usd, 0),
      12,
    );
    expect(ratio).toBeCloseTo(baseline.totalUsd / ours.totalUsd, 12);
  });

  it("states what turning tracing on or logging every event would add", () => {
    const { assumptions } = model();
    expect(assumptions.join("\n")).toMatch(
      /with tracing on, X-Ray adds \$\d+\.\d\d; logging every event's line/,
    );
  });
});

describe("DynamoDB item size", () => {
  it("counts names, UTF-8 values, numbers at a byte per two digits plus one, and 100 bytes of overhead", () => {
    expect(dynamoItemBytes({})).toBe(100);
    expect(dynamoItemBytes({ pk: "TRACE#é" })).toBe(100 + 2 + 8);
    expect(dynamoItemBytes({ seq: 12345 })).toBe(100 + 3 + 4);
  });
});

describe("cost model: the runs list per run", () => {
  it("measures one summary write per event that changes the list, not one per event, and a page in two requests", async () => {
    const table = await startTestTable("run-index-cost");
    try {
      const measured = await measureRunIndex(table.client, table.tableName);
      const run = typicalRun("r", 0);
      // Events a second or so apart: no last-event refresh is due between the changing ones.
      expect(measured.eventsPerRun).toBe(run.length);
      expect(measured.summaryWritesPerRun).toBe(run.filter(changesSummary).length);
      expect(measured.summaryWritesPerRun).toBeLessThan(run.length);
      expect(measured.summaryWriteUnitsPerRun).toBe(measured.summaryWritesPerRun);
      // One index query and one batch read of the 25 summaries.
      expect(measured.pageRequests).toBe(2);
      expect(measured.pageReadUnits).toBeGreaterThan(0);
    } finally {
      await table.close();
    }
  });

  it("prices summary writes, the index write and a run frame per write per watcher", () => {
    const measured = {
      eventsPerRun: 67,
      summaryWritesPerRun: 32,
      summaryWriteUnitsPerRun: 32,
      pageRuns: 25,
      pageRequests: 2,
      pageReadUnits: 13,
    };
    const none = runIndexCostPerRun(measured, 0);
    expect(none.totalUsd).toBeCloseTo((33 * PRICES_USD.dynamoWriteUnitPerMillion) / MILLION, 12);
    const ten = runIndexCostPerRun(measured, 10);
    expect(line(ten, "API Gateway messages").units).toBe(320);
    expect(line(ten, "Data transfer out").units).toBeCloseTo((320 * RUN_FRAME_BYTES) / GB, 12);
    expect(ten.pageUsd).toBeCloseTo((13 * 0.125 + 0.2 + 2 * 1) / MILLION, 12);
  });
});

describe("cost model: direct and coalesced fan-out per viewer count", () => {
  // What bench/coalesced-row.ts measured (rounded up): bench/coalesced-results.json.
  const measuredAt = (viewers: number): ModeMeasurements => ({
    viewers,
    direct: { handlerMs: 45, readUnitsPerEvent: 1, writeUnitsPerEvent: 2, frameBytes: 320 },
    coalesced: {
      emitterHandlerMs: 15,
      writeUnitsPerEvent: 1.1,
      eventsPerBatch: eventsPerBatch(
        ASSUMED_EVENTS_PER_SECOND_PER_VIEWER,
        FAN_OUT_STREAM.maxBatchingWindowSeconds,
        FAN_OUT_STREAM.batchSize,
      ),
      fanOutHandlerMsPerBatch: 30,
      readUnitsPerBatch: 1,
      framesPerViewerPerBatch: 1,
      frameBytesPerBatch: 3100,
    },
  });
  const bytes: PerEventBytes = { emfBytes: 485, infoLogBytes: 0, debugLogBytes: 287, storedItemBytes: 574 };
  const at = (viewers: number) => costByFanOutMode(measuredAt(viewers), 350, bytes);

  it("batches what the window gathers: 5 events/s over the 2 s window is 10 a batch, never fewer than one poll's, never more than the batch size", () => {
    expect(eventsPerBatch(5, 2, 100)).toBe(10);
    expect(eventsPerBatch(5, 0, 100)).toBe(1.25);
    expect(eventsPerBatch(0.1, 0, 100)).toBe(1);
    expect(eventsPerBatch(500, 2, 100)).toBe(100);
  });

  it("posts one message per viewer per event directly, one per viewer per batch coalesced; stream reads are free", () => {
    const ten = at(10);
    expect(line(ten.direct, "API Gateway messages").units).toBe(10 * MILLION);
    expect(line(ten.coalesced, "API Gateway messages").units).toBe((10 * MILLION) / 10);
    expect(line(ten.coalesced, "Lambda invocations").units).toBe(MILLION + MILLION / 10);
    expect(line(ten.coalesced, "DynamoDB read request units").units).toBe(MILLION / 10);
    expect(line(ten.coalesced, "DynamoDB Streams reads").usd).toBe(0);
    expect(line(ten.direct, "EventBridge").usd).toBe(line(ten.coalesced, "EventBridge").usd);
  });

  it("meets the goals in the coalesced mode: at most $3.0 for one viewer and $5 for ten per million events", () => {
    expect(at(1).coalesced.totalUsd).toBeLessThanOrEqual(3.0);
    expect(at(10).coalesced.totalUsd).toBeLessThanOrEqual(5.0);
    // The direct mode pays a message per viewer per event.
    expect(at(10).direct.totalUsd).toBeGreaterThan(10);
    expect(at(1).coalesced.totalUsd).toBeLessThan(at(1).direct.totalUsd);
  });
});
