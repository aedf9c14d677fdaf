/**
 * What one million events delivered live to one viewer cost on AWS, from the requests, capacity
 * units, frame and log bytes measured in this run (fan-out with one subscriber, same table for
 * both designs), plus what the stack's settings add: logs, X-Ray, data transfer, heartbeats and
 * storage.
 *
 * List prices, us-east-1, as published on the AWS pricing pages below (read in 2025; DynamoDB's
 * on-demand prices are those after its 1 November 2024 reduction). They are constants, not
 * fetched: check the pages before quoting a bill.
 * - EventBridge  https://aws.amazon.com/eventbridge/pricing/ : custom events $1.00 per million,
 *   each 64 KB chunk of an entry counted as one event.
 * - Lambda       https://aws.amazon.com/lambda/pricing/ : $0.20 per million requests; Arm
 *   (the stack's architecture) $0.0000133334 per GB-second.
 * - DynamoDB     https://aws.amazon.com/dynamodb/pricing/on-demand/ : $0.625 per million write
 *   request units (1 KB), $0.125 per million read request units (4 KB strongly consistent, or two
 *   eventually consistent); storage $0.25 per GB-month, point-in-time recovery $0.20 per GB-month,
 *   each item counted with 100 bytes of overhead.
 * - API Gateway  https://aws.amazon.com/api-gateway/pricing/ : WebSocket $1.00 per million
 *   messages, sent or received (first billion; metered in 32 KB increments), $0.25 per million
 *   connection minutes; data out at EC2 rates.
 * - Data transfer https://aws.amazon.com/ec2/pricing/on-demand/ : out to the internet $0.09 per GB
 *   (first 10 TB a month).
 * - CloudWatch   https://aws.amazon.com/cloudwatch/pricing/ : logs ingested $0.50 per GB (standard
 *   class), stored $0.03 per GB-month (billed compressed: the raw bytes here are an upper bound).
 * - X-Ray        https://aws.amazon.com/xray/pricing/ : $5.00 per million traces recorded. Lambda's
 *   default sampling rule records the first request each second and 5% of the rest.
 */
import { EMITTER_MEMORY_MB } from "../lib/function-specs.js";
import type { FanOutSide } from "./fan-out.js";

export const PRICES_USD = {
  eventBridgeEventPerMillion: 1.0,
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  dynamoWriteUnitPerMillion: 0.625,
  dynamoReadUnitPerMillion: 0.125,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  apiGatewayMessagePerMillion: 1.0,
  apiGatewayConnectionMinutePerMillion: 0.25,
  dataTransferOutGb: 0.09,
  logsIngestedGb: 0.5,
  logsStoredGbMonth: 0.03,
  xrayTracesRecordedPerMillion: 5.0,
} as const;

/** The emitter's memory in the CDK stack (lib/function-specs.ts); the baseline gets the same. */
export const EMITTER_MEMORY_GB = EMITTER_MEMORY_MB / 1024;
/** Assumed pace of a watched run, for connection minutes and X-Ray sampling (identical for both designs). */
export const ASSUMED_EVENTS_PER_SECOND_PER_VIEWER = 5;

/**
 * Lambda's own lines per invocation (START, END, REPORT with duration and memory), written to the
 * function's log group whatever the log level: about 260 bytes; the REPORT line gains an XRAY
 * part (trace and segment ids) of about 100 bytes when tracing is on.
 */
export const LAMBDA_PLATFORM_LOG_BYTES = 260;
export const LAMBDA_XRAY_REPORT_BYTES = 100;
/** One line of the stage's JSON access log (lib/trace-stream-api.ts ACCESS_LOG_FIELDS), filled in. */
export const ACCESS_LOG_LINE_BYTES = 450;
/** `{"action":"ping"}` in, `{"type":"pong"}` out: the live client's heartbeat. */
export const HEARTBEAT_REPLY_BYTES = 15;
/** X-Ray's default rule: a reservoir of one trace per second, then this share of the rest. */
export const XRAY_FIXED_RATE = 0.05;

/** The stack settings the cost depends on; `STACK_DEFAULTS` are the construct's defaults. */
export interface StackSettings {
  readonly tracing: boolean;
  /** Share of emitter invocations that write their DEBUG lines (`logSampleRate`). */
  readonly logSampleRate: number;
  readonly eventRetentionDays: number;
  readonly logRetentionDays: number;
  /** The client's `heartbeatIntervalMs`, in seconds. */
  readonly heartbeatIntervalSeconds: number;
}

/** The construct's and the client's defaults (test/bench/cost-model.test.ts checks them against the code). */
export const STACK_DEFAULTS: StackSettings = {
  tracing: false,
  logSampleRate: 0.01,
  eventRetentionDays: 7,
  logRetentionDays: 30,
  heartbeatIntervalSeconds: 30,
};

/** What the emitter writes and stores per event, measured by bench/per-event-bytes.ts. */
export interface PerEventBytes {
  /** The EMF document of one invocation. */
  readonly emfBytes: number;
  /** Log lines per event at INFO (none when nothing failed). */
  readonly infoLogBytes: number;
  /** Log lines per event at DEBUG: what a sampled invocation writes. */
  readonly debugLogBytes: number;
  /** The event's item as DynamoDB sizes it, its 100 bytes of overhead included. */
  readonly storedItemBytes: number;
}

const EVENT_BRIDGE_CHUNK = 64 * 1024;
const MESSAGE_UNIT = 32 * 1024;
const MILLION = 1_000_000;
const GB = 1024 ** 3;
const DAYS_PER_MONTH = 365 / 12;

export interface CostLine {
  readonly item: string;
  /** Billed units per million events. */
  readonly units: number;
  readonly usd: number;
}

export interface CostSide {
  readonly lines: CostLine[];
  readonly totalUsd: number;
}

export interface CostModel {
  readonly ours: CostSide;
  readonly baseline: CostSide;
  /** baseline total / ours total */
  readonly ratio: number;
  readonly perEvent: PerEventBytes;
  readonly settings: StackSettings;
  readonly assumptions: string[];
}

/** Share of invocations X-Ray records at `perSecond` invocations a second (default sampling rule). */
export function xraySampledShare(perSecond: number): number {
  const reservoir = Math.min(perSecond, 1);
  return (reservoir + XRAY_FIXED_RATE * (perSecond - reservoir)) / perSecond;
}

interface Design {
  /** Log bytes the emitter writes per event besides Lambda's own lines. */
  readonly emitterLogBytes: number;
  /** Bytes stored per event (0: the design stores nothing). */
  readonly storedItemBytes: number;
}

function side(measured: FanOutSide, eventBytes: number, design: Design, settings: StackSettings): CostSide {
  const viewerSeconds = MILLION / ASSUMED_EVENTS_PER_SECOND_PER_VIEWER;
  const heartbeats = viewerSeconds / settings.heartbeatIntervalSeconds;
  const platformBytes = LAMBDA_PLATFORM_LOG_BYTES + (settings.tracing ? LAMBDA_XRAY_REPORT_BYTES : 0);
  // API Gateway answers pings itself (a mock integration): a heartbeat is two messages and an
  // access-log line, and runs no Lambda.
  const loggedBytes = MILLION * (platformBytes + design.emitterLogBytes) + heartbeats * ACCESS_LOG_LINE_BYTES;
  const tracedInvocations = settings.tracing
    ? MILLION * xraySampledShare(ASSUMED_EVENTS_PER_SECOND_PER_VIEWER)
    : 0;
  const storedGbMonths =
    ((MILLION * design.storedItemBytes) / GB) * (settings.eventRetentionDays / DAYS_PER_MONTH);
  const priced: [string, number, number][] = [
    [
      "EventBridge custom events (64 KB chunks)",
      MILLION * Math.ceil(eventBytes / EVENT_BRIDGE_CHUNK),
      PRICES_USD.eventBridgeEventPerMillion / MILLION,
    ],
    ["Lambda invocations (emitter)", MILLION, PRICES_USD.lambdaRequestPerMillion / MILLION],
    [
      "Lambda GB-seconds (emitter, measured ms)",
      MILLION * (measured.handlerMs / 1000) * EMITTER_MEMORY_GB,
      PRICES_USD.lambdaArmGbSecond,
    ],
    ["DynamoDB requests (not billed per call)", MILLION * measured.dynamoRequestsPerEvent, 0],
    [
      "DynamoDB write request units",
      MILLION * measured.writeUnitsPerEvent,
      PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    ],
    [
      "DynamoDB read request units",
      MILLION * measured.readUnitsPerEvent,
      PRICES_USD.dynamoReadUnitPerMillion / MILLION,
    ],
    [
      "API Gateway messages (32 KB units)",
      MILLION * Math.ceil(measured.frameBytes / MESSAGE_UNIT),
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ],
    [
      "API Gateway connection minutes",
      viewerSeconds / 60,
      PRICES_USD.apiGatewayConnectionMinutePerMillion / MILLION,
    ],
    [
      "Data transfer out to the viewer (GB)",
      (MILLION * measured.frameBytes + heartbeats * HEARTBEAT_REPLY_BYTES) / GB,
      PRICES_USD.dataTransferOutGb,
    ],
    [
      `Heartbeat messages (ping in, pong out, every ${settings.heartbeatIntervalSeconds} s)`,
      2 * heartbeats,
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ],
    ["CloudWatch Logs ingested (GB)", loggedBytes / GB, PRICES_USD.logsIngestedGb],
    [
      `CloudWatch Logs stored (GB-months, ${settings.logRetentionDays}-day retention)`,
      (loggedBytes / GB) * (settings.logRetentionDays / DAYS_PER_MONTH),
      PRICES_USD.logsStoredGbMonth,
    ],
    [
      `X-Ray traces recorded (tracing ${settings.tracing ? "on" : "off"})`,
      tracedInvocations,
      PRICES_USD.xrayTracesRecordedPerMillion / MILLION,
    ],
    [
      `DynamoDB storage (GB-months, ${settings.eventRetentionDays}-day retention)`,
      storedGbMonths,
      PRICES_USD.dynamoStorageGbMonth,
    ],
    ["DynamoDB point-in-time recovery (GB-months)", storedGbMonths, PRICES_USD.dynamoPitrGbMonth],
  ];
  const lines = priced.map(([item, units, price]) => ({ item, units, usd: units * price }));
  return { lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0) };
}

/** Our emitter's log bytes per event: EMF always, its INFO lines, and a sample of DEBUG lines. */
export function emitterLogBytesPerEvent(bytes: PerEventBytes, settings: StackSettings): number {
  return bytes.emfBytes + bytes.infoLogBytes + settings.logSampleRate * bytes.debugLogBytes;
}

/**
 * `oneViewer` is the fan-out row with one subscriber; `eventBytes` an event's PutEvents entry size;
 * `perEvent` what our emitter logs and stores per event. The baseline writes only Lambda's own
 * lines (the sample logs nothing per message) and stores nothing.
 */
export function costPerMillionEvents(
  oneViewer: { ours: FanOutSide; baseline: FanOutSide },
  eventBytes: number,
  otherSubscriptions: number,
  perEvent: PerEventBytes,
  settings: StackSettings = STACK_DEFAULTS,
): CostModel {
  const oursDesign = (at: StackSettings): Design => ({
    emitterLogBytes: emitterLogBytesPerEvent(perEvent, at),
    storedItemBytes: perEvent.storedItemBytes,
  });
  const ours = side(oneViewer.ours, eventBytes, oursDesign(settings), settings);
  const baseline = side(oneViewer.baseline, eventBytes, { emitterLogBytes: 0, storedItemBytes: 0 }, settings);
  const extra = (changed: Partial<StackSettings>) => {
    const at = { ...settings, ...changed };
    return side(oneViewer.ours, eventBytes, oursDesign(at), at).totalUsd - ours.totalUsd;
  };
  const usd = (value: number) => `$${value.toFixed(2)}`;
  return {
    ours,
    baseline,
    ratio: baseline.totalUsd / ours.totalUsd,
    perEvent,
    settings,
    assumptions: [
      `one viewer of one trace, in a table that also holds ${otherSubscriptions} subscriptions of other traces (the fan-out table)`,
      "capacity units, DynamoDB requests, frame bytes and handler time measured per event in this run (N = 1)",
      `Lambda time is the handler's local wall time at ${EMITTER_MEMORY_GB * 1024} MB on Arm: an estimate of the billed duration`,
      `connection minutes, heartbeats and X-Ray sampling assume the viewer watches a run emitting ${ASSUMED_EVENTS_PER_SECOND_PER_VIEWER} events/s`,
      `logs: Lambda's START/END/REPORT lines (about ${LAMBDA_PLATFORM_LOG_BYTES} bytes an invocation) for both designs; ours adds its EMF metrics (${perEvent.emfBytes} bytes measured) and, on the ${settings.logSampleRate} share of sampled invocations, its DEBUG line (${perEvent.debugLogBytes} bytes measured); heartbeats add an access-log line each`,
      `stored: each event's item (${perEvent.storedItemBytes} bytes measured, with DynamoDB's 100-byte overhead) for ${settings.eventRetentionDays} days, and its point-in-time-recovery copy; the baseline stores nothing`,
      `with tracing on, X-Ray adds ${usd(extra({ tracing: true }))}; logging every event's line (as at INFO before, or logSampleRate 1) adds ${usd(extra({ logSampleRate: 1 }))}`,
      "per-session requests ($connect authorizer + connect, resume, $disconnect, and the reconnect API Gateway forces every 2 hours) are left out: they grow with sessions, not events",
      "free tiers are left out",
    ],
  };
}

/** The runs list's own work for one run, measured by bench/run-index-cost.ts. */
export interface RunIndexMeasured {
  readonly eventsPerRun: number;
  /** UpdateItem calls on the run's summary (lambdas/shared/run-index.ts writes only on a change). */
  readonly summaryWritesPerRun: number;
  /** Their write units, as DynamoDB reports them. */
  readonly summaryWriteUnitsPerRun: number;
  /** One `listRuns` page: its runs, requests (index queries and batch reads) and read units. */
  readonly pageRuns: number;
  readonly pageRequests: number;
  readonly pageReadUnits: number;
}

/** A `run` frame: the summary of one run, about this many bytes (one 32 KB message unit). */
export const RUN_FRAME_BYTES = 320;
/**
 * The run index's GSI is keys-only and its keys are set once, when the run starts: one index write
 * (under 1 KB) per run, whatever the number of events (DynamoDB writes an index only when the
 * item's projected attributes change).
 */
export const RUNS_INDEX_WRITES_PER_RUN = 1;

export interface RunIndexCost {
  readonly lines: CostLine[];
  readonly totalUsd: number;
  /** One `listRuns` page, priced on its own (it grows with viewers paging, not with runs). */
  readonly pageUsd: number;
}

/**
 * What the runs list adds per run: its summary writes and index write, and one `run` frame per
 * summary write to each of `watchers` runs-list viewers (API Gateway messages and data out; the
 * emitter reads the watcher list at most once per cache period per container, left out here).
 */
export function runIndexCostPerRun(measured: RunIndexMeasured, watchers: number): RunIndexCost {
  const frames = measured.summaryWritesPerRun * watchers;
  const priced: [string, number, number][] = [
    [
      "DynamoDB write units (run summary)",
      measured.summaryWriteUnitsPerRun,
      PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    ],
    [
      "DynamoDB write units (runs index, keys only)",
      RUNS_INDEX_WRITES_PER_RUN,
      PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    ],
    [
      `API Gateway messages (run frames to ${watchers} watchers)`,
      frames,
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ],
    ["Data transfer out (GB, run frames)", (frames * RUN_FRAME_BYTES) / GB, PRICES_USD.dataTransferOutGb],
  ];
  const lines = priced.map(([item, units, price]) => ({ item, units, usd: units * price }));
  const pageUsd =
    (measured.pageReadUnits * PRICES_USD.dynamoReadUnitPerMillion) / MILLION +
    PRICES_USD.lambdaRequestPerMillion / MILLION +
    // The request and the page frame (a page of 25 runs is one 32 KB unit).
    (2 * PRICES_USD.apiGatewayMessagePerMillion) / MILLION;
  return { lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0), pageUsd };
}

/** What the fan-out modes cost, measured at one viewer count (bench/coalesced-fan-out.ts). */
export interface ModeMeasurements {
  readonly viewers: number;
  readonly direct: {
    /** The emitter's handler time per event: store, read subscribers, post to each viewer. */
    readonly handlerMs: number;
    readonly readUnitsPerEvent: number;
    readonly writeUnitsPerEvent: number;
    /** One `event` frame. */
    readonly frameBytes: number;
  };
  readonly coalesced: {
    /** The emitter's handler time per event when it only stores. */
    readonly emitterHandlerMs: number;
    readonly writeUnitsPerEvent: number;
    /** Events of one trace per fan-out batch. */
    readonly eventsPerBatch: number;
    /** The fan-out's handler time for one batch (one trace). */
    readonly fanOutHandlerMsPerBatch: number;
    readonly readUnitsPerBatch: number;
    /** `events` frames per viewer per batch, and their bytes in all. */
    readonly framesPerViewerPerBatch: number;
    readonly frameBytesPerBatch: number;
  };
}

/**
 * Events of one trace in a stream batch: what arrives during the batching window (Lambda polls a
 * shard about four times a second, so never fewer than a quarter second's), at least one, at most
 * the batch size.
 */
export function eventsPerBatch(eventsPerSecond: number, windowSeconds: number, batchSize: number): number {
  return Math.min(batchSize, Math.max(1, eventsPerSecond * Math.max(windowSeconds, 0.25)));
}

export interface ModeCost {
  readonly viewers: number;
  readonly direct: CostSide;
  readonly coalesced: CostSide;
  readonly assumptions: string[];
}

/**
 * The full model for both fan-out modes with `viewers` viewers of one trace, per million events:
 * the lines of `costPerMillionEvents` that do not depend on the mode (EventBridge, the emitter's
 * invocations and logs, writes, storage, connection minutes, heartbeats), plus per mode what the
 * fan-out costs. Direct: each event is read from the subscribers and posted to each viewer by the
 * emitter. Coalesced: the emitter only stores; per batch, one fan-out invocation (and its logs),
 * one subscriber query, and per viewer one message per 32 KiB of frames. Lambda's reads of a
 * DynamoDB stream are free, and the stream adds no write.
 */
export function costByFanOutMode(
  measured: ModeMeasurements,
  eventBytes: number,
  perEvent: PerEventBytes,
  settings: StackSettings = STACK_DEFAULTS,
): ModeCost {
  const { viewers } = measured;
  const viewerSeconds = (MILLION / ASSUMED_EVENTS_PER_SECOND_PER_VIEWER) * viewers;
  const heartbeats = viewerSeconds / settings.heartbeatIntervalSeconds;
  const platformBytes = LAMBDA_PLATFORM_LOG_BYTES + (settings.tracing ? LAMBDA_XRAY_REPORT_BYTES : 0);
  const emitterLogBytes = emitterLogBytesPerEvent(perEvent, settings);
  const storedGbMonths =
    ((MILLION * perEvent.storedItemBytes) / GB) * (settings.eventRetentionDays / DAYS_PER_MONTH);
  const price = (item: string, units: number, unitPrice: number): CostLine => ({
    item,
    units,
    usd: units * unitPrice,
  });
  const common = (logBytes: number, invocations: number) => [
    price(
      "EventBridge custom events (64 KB chunks)",
      MILLION * Math.ceil(eventBytes / EVENT_BRIDGE_CHUNK),
      PRICES_USD.eventBridgeEventPerMillion / MILLION,
    ),
    price("Lambda invocations", invocations, PRICES_USD.lambdaRequestPerMillion / MILLION),
    price(
      "API Gateway connection minutes",
      viewerSeconds / 60,
      PRICES_USD.apiGatewayConnectionMinutePerMillion / MILLION,
    ),
    price(
      `Heartbeat messages (ping in, pong out, every ${settings.heartbeatIntervalSeconds} s)`,
      2 * heartbeats,
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ),
    price(
      "CloudWatch Logs ingested (GB)",
      (logBytes + heartbeats * ACCESS_LOG_LINE_BYTES) / GB,
      PRICES_USD.logsIngestedGb,
    ),
    price(
      `CloudWatch Logs stored (GB-months, ${settings.logRetentionDays}-day retention)`,
      ((logBytes + heartbeats * ACCESS_LOG_LINE_BYTES) / GB) * (settings.logRetentionDays / DAYS_PER_MONTH),
      PRICES_USD.logsStoredGbMonth,
    ),
    price(
      `DynamoDB storage (GB-months, ${settings.eventRetentionDays}-day retention)`,
      storedGbMonths,
      PRICES_USD.dynamoStorageGbMonth,
    ),
    price("DynamoDB point-in-time recovery (GB-months)", storedGbMonths, PRICES_USD.dynamoPitrGbMonth),
    price(
      `X-Ray traces recorded (tracing ${settings.tracing ? "on" : "off"})`,
      settings.tracing ? invocations * xraySampledShare(ASSUMED_EVENTS_PER_SECOND_PER_VIEWER) : 0,
      PRICES_USD.xrayTracesRecordedPerMillion / MILLION,
    ),
  ];
  const total = (lines: CostLine[]): CostSide => ({
    lines,
    totalUsd: lines.reduce((sum, l) => sum + l.usd, 0),
  });

  const d = measured.direct;
  const direct = total([
    ...common(MILLION * (platformBytes + emitterLogBytes), MILLION),
    price(
      "Lambda GB-seconds (emitter, measured ms)",
      MILLION * (d.handlerMs / 1000) * EMITTER_MEMORY_GB,
      PRICES_USD.lambdaArmGbSecond,
    ),
    price(
      "DynamoDB write request units",
      MILLION * d.writeUnitsPerEvent,
      PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    ),
    price(
      "DynamoDB read request units",
      MILLION * d.readUnitsPerEvent,
      PRICES_USD.dynamoReadUnitPerMillion / MILLION,
    ),
    price(
      "API Gateway messages (32 KB units)",
      MILLION * viewers * Math.ceil(d.frameBytes / MESSAGE_UNIT),
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ),
    price(
      "Data transfer out to the viewers (GB)",
      (MILLION * viewers * d.frameBytes + heartbeats * HEARTBEAT_REPLY_BYTES) / GB,
      PRICES_USD.dataTransferOutGb,
    ),
  ]);

  const c = measured.coalesced;
  const batches = MILLION / c.eventsPerBatch;
  // The fan-out logs Lambda's lines and one EMF document per batch (its DEBUG line is sampled too).
  const fanOutLogBytes =
    batches * (platformBytes + perEvent.emfBytes + settings.logSampleRate * perEvent.debugLogBytes);
  const coalesced = total([
    ...common(MILLION * (platformBytes + emitterLogBytes) + fanOutLogBytes, MILLION + batches),
    price(
      "Lambda GB-seconds (emitter storing, measured ms)",
      MILLION * (c.emitterHandlerMs / 1000) * EMITTER_MEMORY_GB,
      PRICES_USD.lambdaArmGbSecond,
    ),
    price(
      "Lambda GB-seconds (fan-out per batch, measured ms)",
      batches * (c.fanOutHandlerMsPerBatch / 1000) * EMITTER_MEMORY_GB,
      PRICES_USD.lambdaArmGbSecond,
    ),
    price(
      "DynamoDB write request units",
      MILLION * c.writeUnitsPerEvent,
      PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    ),
    price(
      "DynamoDB read request units (one subscriber query per batch)",
      batches * c.readUnitsPerBatch,
      PRICES_USD.dynamoReadUnitPerMillion / MILLION,
    ),
    price("DynamoDB Streams reads by Lambda (free)", batches, 0),
    price(
      "API Gateway messages (32 KB units)",
      batches *
        viewers *
        c.framesPerViewerPerBatch *
        Math.max(1, Math.ceil(c.frameBytesPerBatch / c.framesPerViewerPerBatch / MESSAGE_UNIT)),
      PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    ),
    price(
      "Data transfer out to the viewers (GB)",
      (batches * viewers * c.frameBytesPerBatch + heartbeats * HEARTBEAT_REPLY_BYTES) / GB,
      PRICES_USD.dataTransferOutGb,
    ),
  ]);
  return {
    viewers,
    direct,
    coalesced,
    assumptions: [
      `${viewers} viewer(s) of one trace emitting ${ASSUMED_EVENTS_PER_SECOND_PER_VIEWER} events/s; coalesced batches hold ${c.eventsPerBatch} events of that trace (the batching window's worth)`,
      "one trace per fan-out batch (a batch holding several traces makes fewer invocations: this is the upper bound)",
      `handler times are this machine's local wall time at ${EMITTER_MEMORY_GB * 1024} MB on Arm: estimates of the billed duration`,
      "Lambda's reads of a DynamoDB stream are free; the stream adds no write (the event item is written in both modes)",
      "per-session requests and free tiers are left out, as in the main model",
    ],
  };
}
