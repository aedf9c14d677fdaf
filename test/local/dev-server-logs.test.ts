import { afterEach, describe, expect, it } from "vitest";
import { createTelemetry } from "../../lambdas/shared/telemetry.js";
import {
  createLogger,
  formatLogRecord,
  formattedConsoleSink,
  parseHandlerLine,
  showHandlerLogsAsText,
} from "../../local/log.js";

/** `HH:MM:SS.mmm LEVEL  source  message fields...` */
const TEXT_LINE = /^\d\d:\d\d:\d\d\.\d{3} [A-Z]+ +\S+ +/;

type Write = typeof process.stdout.write;
const originals = { stdout: process.stdout.write, stderr: process.stderr.write };

/** What reaches this process's stdout and stderr (below any rewriting installed afterwards). */
function captureProcessOutput(): { text(): string } {
  let text = "";
  const record = ((chunk: unknown, ...rest: unknown[]) => {
    text += String(chunk);
    (rest.find((arg) => typeof arg === "function") as (() => void) | undefined)?.();
    return true;
  }) as Write;
  process.stdout.write = record;
  process.stderr.write = record;
  return { text: () => text };
}

afterEach(() => {
  process.stdout.write = originals.stdout;
  process.stderr.write = originals.stderr;
});

describe("the dev server's log lines", () => {
  it("shows a handler's Powertools records and EMF metrics as one short line each, fields included", () => {
    const output = captureProcessOutput();
    const restore = showHandlerLogsAsText();
    try {
      // The handlers' own telemetry, as on AWS: Powertools Logger and Metrics writing JSON.
      const { log, metrics } = createTelemetry(
        { POWERTOOLS_SERVICE_NAME: "trace-stream", POWERTOOLS_METRICS_NAMESPACE: "TraceStream" },
        "emitter",
      );
      log.info("event delivered", { traceId: "run-1", seq: 3, duplicate: false, reason: "two words" });
      log.error("fan-out failed", {
        error: Object.assign(new Error("socket hang up"), { name: "TimeoutError" }),
      });
      metrics.count("EventsStored");
      metrics.milliseconds("FanOutDuration", 12);
      metrics.flush();
    } finally {
      restore();
    }
    const lines = output.text().trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(TEXT_LINE);
    expect(lines[0]).toMatch(
      /^\S+ INFO {3}emitter {10}event delivered traceId=run-1 seq=3 duplicate=false reason="two words"$/,
    );
    expect(lines[1]).toMatch(/ ERROR +emitter +fan-out failed error="TimeoutError: socket hang up"$/);
    expect(lines[2]).toMatch(/ METRIC +emitter +EventsStored=1 FanOutDuration=12ms$/);
  });

  it("passes everything else through untouched, and stops rewriting when restored", () => {
    const output = captureProcessOutput();
    const restore = showHandlerLogsAsText();
    const powertools = `${JSON.stringify({ level: "INFO", message: "m", timestamp: new Date().toISOString(), service: "s" })}\n`;
    const others = [
      "plain text\n",
      '{"not":"a record"}\n',
      "{ broken json }\n",
      '{"level":"INFO"}\n',
      "[1,2]\n",
    ];
    for (const chunk of others) process.stdout.write(chunk);
    restore();
    process.stdout.write(powertools);
    expect(output.text()).toBe(others.join("") + powertools);
  });

  it("never sends control characters from a record to the terminal (a client's user agent, a reason)", () => {
    const record = parseHandlerLine(
      JSON.stringify({
        level: "INFO",
        message: "connected\u001b[2J\nforged line",
        timestamp: "2026-01-02T03:04:05.678Z",
        function: "connect",
        sub: "agent\u001b]0;title\u0007",
      }),
    );
    const line = formatLogRecord(record as NonNullable<typeof record>, "text");
    expect(line).not.toMatch(/\p{Cc}/u);
    expect(line).toContain("connected\\u001b[2J\\u000aforged line");
    expect(line).toContain('sub="agent\\u001b]0;title\\u0007"');
  });

  it("bounds what one field can add to a line", () => {
    const record = parseHandlerLine(
      JSON.stringify({
        level: "WARN",
        message: "refused",
        timestamp: "2026-01-02T03:04:05.678Z",
        function: "emitter",
        reason: "x".repeat(10_000),
        nested: { a: [1, 2, { b: "c" }] },
      }),
    );
    expect(record).toBeDefined();
    const line = formatLogRecord(record as NonNullable<typeof record>, "text");
    expect(line.length).toBeLessThan(400);
    expect(line).toContain(`reason=${"x".repeat(100)}`);
    expect(line).toContain("…");
    expect(line).toContain('nested={"a":[1,2,{"b":"c"}]}');
  });

  it("gives the stack's own lines the same shape: a text line, or a JSON record", () => {
    const printed: string[] = [];
    const log = (format: "text" | "json") => {
      const sink = formattedConsoleSink(format, () => new Date("2026-01-02T03:04:05.678Z"));
      return createLogger("info", (level, line, parts) => {
        // The console sink writes through console.log; capture what it would print.
        const before = console.log;
        console.log = (text: string) => printed.push(text);
        try {
          sink(level, line, parts);
        } finally {
          console.log = before;
        }
      });
    };
    log("text").child("gateway").info("connected");
    log("json").child("eventbridge").info("PutEvents entry refused");
    expect(printed[0]).toMatch(/^\d\d:\d\d:\d\d\.678 INFO {3}gateway {10}connected$/);
    expect(JSON.parse(printed[1] as string)).toEqual({
      level: "INFO",
      message: "PutEvents entry refused",
      timestamp: "2026-01-02T03:04:05.678Z",
      source: "eventbridge",
    });
  });
});
