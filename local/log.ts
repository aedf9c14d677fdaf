import { redactString } from "../protocol/redact.js";

/**
 * The local stack's own log lines (emulators, Lambda runner, sweeper). Handlers log through
 * Powertools on their own; this logger only speaks for the emulated AWS services.
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LocalLogger {
  readonly level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines carry `[component]` after this logger's prefix. */
  child(component: string): LocalLogger;
}

/** Where lines go; tests pass an array-backed sink to read them. */
export type LogSink = (
  level: Exclude<LogLevel, "silent">,
  line: string,
  /** The same line in parts, for sinks that format it their own way. */
  parts: { readonly component: string; readonly message: string },
) => void;

const consoleSink = (level: Exclude<LogLevel, "silent">, line: string): void => {
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
};

export function isLogLevel(value: string): value is LogLevel {
  return value in RANK;
}

export function createLogger(
  level: LogLevel = "info",
  sink: LogSink = consoleSink,
  prefix = "local",
): LocalLogger {
  const write = (at: Exclude<LogLevel, "silent">, message: string) => {
    if (RANK[at] >= RANK[level]) sink(at, `[${prefix}] ${message}`, { component: prefix, message });
  };
  return {
    level,
    debug: (message) => write("debug", message),
    info: (message) => write("info", message),
    warn: (message) => write("warn", message),
    error: (message) => write("error", message),
    child: (component) => createLogger(level, sink, `${prefix}:${component}`),
  };
}

/**
 * One line for an error: its name and message, never its stack or the objects it holds, with
 * secret-shaped values (bearer tokens, JWTs, access keys) masked.
 */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactString(text);
}

/**
 * How the dev server prints logs. `text`: one short line per record (time, level, source,
 * message, fields). `json`: one JSON object per record, the Lambda handlers' Powertools lines as
 * they are on AWS and the stack's own lines in the same shape.
 */
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** One log record, from the stack's own logger or a handler's Powertools line. */
export interface LogRecord {
  readonly time: Date;
  /** DEBUG, INFO, WARN, ERROR, ... as Powertools spells them; METRIC for an EMF record. */
  readonly level: string;
  /** The Lambda function, or the emulator (`gateway`, `eventbridge`, ...). */
  readonly source: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Keys every Powertools record carries: shown by the line's own columns, or noise locally. */
const POWERTOOLS_KEYS = new Set([
  "level",
  "message",
  "timestamp",
  "service",
  "sampling_rate",
  "function",
  "xray_trace_id",
  "cold_start",
  "function_arn",
  "function_memory_size",
  "function_name",
  "function_request_id",
]);
const POWERTOOLS_LEVELS = new Set(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"]);
/** A line longer than this is not a record we rewrite (it passes through as it is). */
const MAX_RECORD_CHARS = 256 * 1024;

/**
 * A handler's Powertools log line or EMF metrics line as a record; undefined for any other text.
 * Only a complete single line that is a JSON object of that shape qualifies.
 */
export function parseHandlerLine(line: string): LogRecord | undefined {
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  if (!text.startsWith("{") || text.includes("\n") || text.length > MAX_RECORD_CHARS) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const source = typeof record.function === "string" ? record.function : String(record.service ?? "lambda");
  const emf = metricsOf(record);
  if (emf !== undefined) {
    const time = typeof emf.Timestamp === "number" ? new Date(emf.Timestamp) : new Date();
    const fields: Record<string, unknown> = {};
    for (const metric of emf.Metrics) {
      const value = record[metric.Name];
      fields[metric.Name] =
        metric.Unit === "Milliseconds" && typeof value === "number" ? `${value}ms` : value;
    }
    return { time, level: "METRIC", source, message: "", fields };
  }
  const { level, message, timestamp } = record;
  if (typeof level !== "string" || !POWERTOOLS_LEVELS.has(level)) return undefined;
  if (typeof message !== "string" || typeof timestamp !== "string") return undefined;
  const time = new Date(timestamp);
  if (Number.isNaN(time.getTime())) return undefined;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!POWERTOOLS_KEYS.has(key)) fields[key] = value;
  return { time, level, source, message, fields };
}

interface EmfMetrics {
  readonly Timestamp?: unknown;
  readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit?: string }>;
}

function metricsOf(record: Record<string, unknown>): EmfMetrics | undefined {
  const aws = record._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (aws === null || typeof aws !== "object" || !Array.isArray(aws.CloudWatchMetrics)) return undefined;
  const metrics: Array<{ Name: string; Unit?: string }> = [];
  for (const directive of aws.CloudWatchMetrics as Array<{ Metrics?: unknown }>) {
    if (!Array.isArray(directive?.Metrics)) continue;
    for (const metric of directive.Metrics as Array<{ Name?: unknown; Unit?: unknown }>) {
      if (typeof metric?.Name === "string") {
        metrics.push({
          Name: metric.Name,
          ...(typeof metric.Unit === "string" ? { Unit: metric.Unit } : {}),
        });
      }
    }
  }
  return { Timestamp: aws.Timestamp, Metrics: metrics };
}

/** A field's value in a text line: bounded, on one line, an error as its name and message. */
function fieldText(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = /^[^\s"=\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  else if (value !== null && typeof value === "object" && "message" in value && "name" in value) {
    const error = value as { name: unknown; message: unknown };
    text = JSON.stringify(`${String(error.name)}: ${String(error.message)}`);
  } else text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

const SOURCE_WIDTH = 16;

/** The record as one line of the given format (no newline). */
export function formatLogRecord(record: LogRecord, format: LogFormat): string {
  if (format === "json") {
    return JSON.stringify({
      level: record.level,
      message: record.message,
      timestamp: record.time.toISOString(),
      source: record.source,
      ...record.fields,
    });
  }
  const time = `${record.time.toTimeString().slice(0, 8)}.${String(record.time.getMilliseconds()).padStart(3, "0")}`;
  const fields = Object.entries(record.fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  return (
    [time, record.level.padEnd(6), record.source.padEnd(SOURCE_WIDTH), record.message, ...fields]
      .filter((part) => part !== "")
      .join(" ")
      // Messages and fields can carry what clients sent (a user agent, a reason): control
      // characters are shown escaped, as the JSON held them, never sent to the terminal.
      .replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .trimEnd()
  );
}

/** The stack's own lines (emulators, runner), as records in the chosen format, to the console. */
export function formattedConsoleSink(format: LogFormat, now: () => Date = () => new Date()): LogSink {
  return (level, _line, parts) => {
    const component = parts.component === "local" ? "local" : parts.component.replace(/^local:/, "");
    const record = {
      time: now(),
      level: level.toUpperCase(),
      source: component,
      message: parts.message,
      fields: {},
    };
    consoleSink(level, formatLogRecord(record, format));
  };
}

type Write = typeof process.stdout.write;

/**
 * Rewrites the Lambda handlers' Powertools lines (and EMF metrics) on this process's stdout and
 * stderr as text records, until the returned function is called. The handlers keep logging JSON
 * exactly as they do on AWS; only how this terminal shows it changes. Anything else written passes
 * through untouched.
 */
export function showHandlerLogsAsText(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): () => void {
  const restores = streams.map((stream) => {
    const original = stream.write;
    const write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk === "string" && chunk.endsWith("}\n")) {
        const record = parseHandlerLine(chunk);
        if (record !== undefined) chunk = `${formatLogRecord(record, "text")}\n`;
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    stream.write = write;
    return () => {
      if (stream.write === write) stream.write = original;
    };
  });
  return () => {
    for (const restore of restores) restore();
  };
}
