/**
 * Everything this process prints while a capture is on: writes to stdout and stderr (the handlers'
 * Powertools loggers write there through their own Console), the global console (vitest would
 * otherwise take those lines), and the local stack's own log lines through its sink.
 */
import type { LogSink } from "../../local/index.js";

export interface CapturedOutput {
  /** Pass as the local stack's `logSink`. */
  readonly sink: LogSink;
  /** Every line or chunk captured so far. */
  text(): string;
  lineCount(): number;
  stop(): void;
}

type Write = typeof process.stdout.write;
const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
  };
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const swallow = ((chunk: unknown, ...rest: unknown[]) => {
    record(chunk);
    const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as Write;
  process.stdout.write = swallow;
  process.stderr.write = swallow;
  const consoleMethods = CONSOLE_METHODS.map((name) => [name, console[name]] as const);
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]) => record(args.map((arg) => String(arg)).join(" "));
  }
  let stopped = false;
  return {
    sink: (level, line) => record(`${level} ${line}`),
    text: () => chunks.join("\n"),
    lineCount: () => chunks.length,
    stop() {
      if (stopped) return;
      stopped = true;
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
      for (const [name, method] of consoleMethods) console[name] = method;
    },
  };
}
