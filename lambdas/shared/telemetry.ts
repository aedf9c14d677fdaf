import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { ConfigError, type EnvRecord, optionalString } from "./config.js";

/** What the pure cores may log: a message and plain, already-redacted fields. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Metric names, in one place so dashboards and alarms can rely on them. */
export type MetricName =
  | "ConnectionsOpened"
  | "ConnectionsRefused"
  | "ConnectionsClosed"
  | "EventsReceived"
  | "EventsStored"
  | "EventsDuplicate"
  | "EventsRejected"
  | "EventsConflicting"
  | "EventsDelivered"
  | "FramesPosted"
  | "StreamRecordsSkipped"
  | "StreamBatchItemFailures"
  | "DeliveryFailures"
  | "DeliveryThrottled"
  | "StaleConnectionsPruned"
  | "PruneFailures"
  | "RunIndexFailures"
  | "RunUpdatesDelivered"
  | "RunUpdateFailures"
  | "RunsListed"
  | "RunsRateLimited"
  | "ReplayFramesSent"
  | "ReplayEventsSent"
  | "ResumeRateLimited"
  | "EmitterFailuresRecorded"
  | "AuthorizerFailures"
  | "TokensIssued"
  | "TokensRefused";

export interface MetricsPort {
  count(name: MetricName, value?: number): void;
  milliseconds(name: "FanOutDuration" | "EventLag" | "ReplayDuration", value: number): void;
  /** Writes what was recorded (EMF on Lambda). Called once per invocation. */
  flush(): void;
}

export interface Telemetry {
  readonly log: Log;
  readonly metrics: MetricsPort;
  /**
   * Call at the start of each invocation: draws again whether this one logs at DEBUG
   * (`POWERTOOLS_LOGGER_SAMPLE_RATE`), so per-event debug lines are a sample of invocations rather
   * than every invocation of one warm instance.
   */
  beginInvocation(): void;
}

const SERVICE = "trace-stream";

/** Share of invocations that log at DEBUG, from the given environment (not only `process.env`). */
function sampleRate(env: EnvRecord): number {
  const raw = optionalString(env, "POWERTOOLS_LOGGER_SAMPLE_RATE");
  if (raw === undefined) return 0;
  const rate = Number(raw);
  if (!(rate >= 0 && rate <= 1)) {
    throw new ConfigError(`POWERTOOLS_LOGGER_SAMPLE_RATE must be a number from 0 to 1, got "${raw}".`);
  }
  return rate;
}

export function createTelemetry(env: EnvRecord, functionName: string): Telemetry {
  const logger = new Logger({
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE,
    logLevel: (env.POWERTOOLS_LOG_LEVEL ?? "INFO") as "INFO",
    sampleRateValue: sampleRate(env),
    persistentKeys: { function: functionName },
  });
  const log: Log = {
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  };
  // Powertools keeps the cold start's draw for the first invocation and draws anew from the second.
  const beginInvocation = () => logger.refreshSampleRateCalculation();
  if (env.POWERTOOLS_METRICS_DISABLED === "true") return { log, metrics: noMetrics, beginInvocation };
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? "TraceStream",
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? SERVICE,
    defaultDimensions: { function: functionName },
  });
  // Powertools warns on every flush with nothing recorded (a log line per quiet invocation).
  let recorded = false;
  return {
    log,
    beginInvocation,
    metrics: {
      count: (name, value = 1) => {
        recorded = true;
        metrics.addMetric(name, MetricUnit.Count, value);
      },
      milliseconds: (name, value) => {
        recorded = true;
        metrics.addMetric(name, MetricUnit.Milliseconds, value);
      },
      flush: () => {
        if (recorded) metrics.publishStoredMetrics();
        recorded = false;
      },
    },
  };
}

export const noMetrics: MetricsPort = { count() {}, milliseconds() {}, flush() {} };
