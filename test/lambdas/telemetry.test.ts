import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lambdas/shared/config.js";
import { createTelemetry } from "../../lambdas/shared/telemetry.js";
import { captureOutput } from "../security/captured-output.js";

/** Runs `invocations` invocations that each write one debug line; resolves to how many got out. */
function debugLinesWritten(env: Record<string, string>, invocations: number): number {
  const output = captureOutput();
  try {
    const telemetry = createTelemetry({ POWERTOOLS_METRICS_DISABLED: "true", ...env }, "emitter");
    for (let i = 0; i < invocations; i++) {
      telemetry.beginInvocation();
      telemetry.log.debug("event delivered", { seq: i });
    }
  } finally {
    output.stop();
  }
  return output.text().split('"message":"event delivered"').length - 1;
}

describe("log sampling (Powertools' real logger, output captured)", () => {
  it("writes per-event DEBUG lines at INFO only on sampled invocations, drawn again each invocation", () => {
    expect(debugLinesWritten({ POWERTOOLS_LOG_LEVEL: "INFO" }, 50)).toBe(0);
    expect(debugLinesWritten({ POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_LOGGER_SAMPLE_RATE: "0" }, 50)).toBe(
      0,
    );
    expect(debugLinesWritten({ POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_LOGGER_SAMPLE_RATE: "1" }, 50)).toBe(
      50,
    );
    // Half the invocations, give or take: never none and never all of 400 draws.
    const sampled = debugLinesWritten(
      { POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_LOGGER_SAMPLE_RATE: "0.5" },
      400,
    );
    expect(sampled).toBeGreaterThan(100);
    expect(sampled).toBeLessThan(300);
  });

  it("writes every DEBUG line when the level is DEBUG", () => {
    expect(debugLinesWritten({ POWERTOOLS_LOG_LEVEL: "DEBUG" }, 20)).toBe(20);
  });

  it("refuses a sample rate outside 0..1 at cold start, naming the variable", () => {
    for (const bad of ["2", "-0.1", "often"]) {
      expect(() => createTelemetry({ POWERTOOLS_LOGGER_SAMPLE_RATE: bad }, "emitter"), bad).toThrow(
        ConfigError,
      );
      expect(() => createTelemetry({ POWERTOOLS_LOGGER_SAMPLE_RATE: bad }, "emitter"), bad).toThrow(
        /POWERTOOLS_LOGGER_SAMPLE_RATE must be a number from 0 to 1/,
      );
    }
  });
});
