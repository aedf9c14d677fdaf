import type { Log, MetricsPort } from "../../lambdas/shared/telemetry.js";

/** A log port that keeps every line, so tests can assert on what would have been logged. */
export function recordingLog(): Log & { lines: { level: string; message: string; fields?: object }[] } {
  const lines: { level: string; message: string; fields?: object }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A metrics port that sums counts per name. */
export function recordingMetrics(): MetricsPort & {
  counts: Record<string, number>;
  timings: Record<string, number[]>;
} {
  const counts: Record<string, number> = {};
  const timings: Record<string, number[]> = {};
  return {
    counts,
    timings,
    count(name, value = 1) {
      counts[name] = (counts[name] ?? 0) + value;
    },
    milliseconds(name, value) {
      timings[name] = [...(timings[name] ?? []), value];
    },
    flush() {},
  };
}
