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
export type LogSink = (level: Exclude<LogLevel, "silent">, line: string) => void;

const consoleSink: LogSink = (level, line) => {
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
    if (RANK[at] >= RANK[level]) sink(at, `[${prefix}] ${message}`);
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
