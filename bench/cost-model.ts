/**
 * What one million events delivered live to one viewer cost on AWS, from the requests and capacity
 * units measured in this run (fan-out with one subscriber, same table for both designs).
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
 *   eventually consistent).
 * - API Gateway  https://aws.amazon.com/api-gateway/pricing/ : WebSocket $1.00 per million
 *   messages (first billion; metered in 32 KB increments), $0.25 per million connection minutes.
 */
import type { FanOutSide } from "./fan-out.js";

export const PRICES_USD = {
  eventBridgeEventPerMillion: 1.0,
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  dynamoWriteUnitPerMillion: 0.625,
  dynamoReadUnitPerMillion: 0.125,
  apiGatewayMessagePerMillion: 1.0,
  apiGatewayConnectionMinutePerMillion: 0.25,
} as const;

/** The emitter's memory in the CDK stack (lib/trace-stream-api.ts); the baseline gets the same. */
export const EMITTER_MEMORY_GB = 0.5;
/** Assumed pace of a watched run, for connection minutes (identical for both designs). */
export const ASSUMED_EVENTS_PER_SECOND_PER_VIEWER = 5;

const EVENT_BRIDGE_CHUNK = 64 * 1024;
const MESSAGE_UNIT = 32 * 1024;
const MILLION = 1_000_000;

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
  readonly assumptions: string[];
}

function side(measured: FanOutSide, eventBytes: number): CostSide {
  const gbSeconds = MILLION * (measured.handlerMs / 1000) * EMITTER_MEMORY_GB;
  const connectionMinutes = MILLION / ASSUMED_EVENTS_PER_SECOND_PER_VIEWER / 60;
  const lines: CostLine[] = [
    {
      item: "EventBridge custom events (64 KB chunks)",
      units: MILLION * Math.ceil(eventBytes / EVENT_BRIDGE_CHUNK),
      usd: 0,
    },
    { item: "Lambda invocations (emitter)", units: MILLION, usd: 0 },
    { item: "Lambda GB-seconds (emitter, measured ms)", units: gbSeconds, usd: 0 },
    {
      item: "DynamoDB requests (not billed per call)",
      units: MILLION * measured.dynamoRequestsPerEvent,
      usd: 0,
    },
    { item: "DynamoDB write request units", units: MILLION * measured.writeUnitsPerEvent, usd: 0 },
    { item: "DynamoDB read request units", units: MILLION * measured.readUnitsPerEvent, usd: 0 },
    {
      item: "API Gateway messages (32 KB units)",
      units: MILLION * Math.ceil(measured.frameBytes / MESSAGE_UNIT),
      usd: 0,
    },
    { item: "API Gateway connection minutes", units: connectionMinutes, usd: 0 },
  ];
  const price = [
    PRICES_USD.eventBridgeEventPerMillion / MILLION,
    PRICES_USD.lambdaRequestPerMillion / MILLION,
    PRICES_USD.lambdaArmGbSecond,
    0,
    PRICES_USD.dynamoWriteUnitPerMillion / MILLION,
    PRICES_USD.dynamoReadUnitPerMillion / MILLION,
    PRICES_USD.apiGatewayMessagePerMillion / MILLION,
    PRICES_USD.apiGatewayConnectionMinutePerMillion / MILLION,
  ];
  const priced = lines.map((line, i) => ({ ...line, usd: line.units * (price[i] ?? 0) }));
  return { lines: priced, totalUsd: priced.reduce((sum, line) => sum + line.usd, 0) };
}

/** `oneViewer` is the fan-out row with one subscriber; `eventBytes` an event's PutEvents entry size. */
export function costPerMillionEvents(
  oneViewer: { ours: FanOutSide; baseline: FanOutSide },
  eventBytes: number,
  otherSubscriptions: number,
): CostModel {
  const ours = side(oneViewer.ours, eventBytes);
  const baseline = side(oneViewer.baseline, eventBytes);
  return {
    ours,
    baseline,
    ratio: baseline.totalUsd / ours.totalUsd,
    assumptions: [
      `one viewer of one trace, in a table that also holds ${otherSubscriptions} subscriptions of other traces (the fan-out table)`,
      "capacity units, DynamoDB requests, frame bytes and handler time measured per event in this run (N = 1)",
      `Lambda time is the handler's local wall time at ${EMITTER_MEMORY_GB * 1024} MB on Arm: an estimate of the billed duration`,
      `connection minutes assume the viewer watches a run emitting ${ASSUMED_EVENTS_PER_SECOND_PER_VIEWER} events/s`,
      "per-session requests ($connect authorizer + connect, resume, $disconnect) are left out: they do not grow with events",
      "free tiers are left out",
    ],
  };
}
