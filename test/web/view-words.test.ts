/** The pure words behind links, gaps and the run status. */
import { describe, expect, it } from "vitest";
import { eventLink, exportFileName, seqFromHash, toJsonLines } from "../../web/event-link.js";
import { describeGaps } from "../../web/gap-view.js";
import { describeRun, type StreamFacts } from "../../web/run-status.js";
import { buildTraceModel, EMPTY_TRACE_MODEL } from "../../web/trace-model.js";
import { traceBuilder } from "./trace-fixtures.js";

describe("event links", () => {
  it("reads #seq=N beside a token in the fragment, and nothing else", () => {
    expect(seqFromHash("#seq=12")).toBe(12);
    expect(seqFromHash("#token=abc&seq=3")).toBe(3);
    expect(seqFromHash("#seq=-1")).toBeUndefined();
    expect(seqFromHash("#seq=1e3")).toBeUndefined();
    expect(seqFromHash("")).toBeUndefined();
  });

  it("shares the trace and the page's url parameter, never a token", () => {
    const link = eventLink(
      {
        origin: "https://viewer.example",
        pathname: "/app/",
        search: "?traceId=x&token=secret&url=wss%3A%2F%2Fa",
      },
      "team-a/run 1",
      7,
    );
    expect(link).toBe("https://viewer.example/app/?traceId=team-a%2Frun+1&url=wss%3A%2F%2Fa#seq=7");
  });

  it("exports one event per line and names the file safely", () => {
    expect(toJsonLines([{ a: 1 }, { b: "x\ny" }])).toBe('{"a":1}\n{"b":"x\\ny"}\n');
    expect(exportFileName("team-a/../run:1")).toBe("team-a_.._run_1.jsonl");
  });
});

describe("gap words", () => {
  it("says seqs between stored events were never stored, and seqs from #0 may have expired", () => {
    expect(describeGaps([{ from: 2, to: 2 }])).toEqual([
      {
        seqs: "#2",
        explanation:
          "never stored on the server: not produced, or lost before storage; shown in place if they still arrive",
      },
    ]);
    expect(describeGaps([{ from: 0, to: 41 }])[0]).toEqual({
      seqs: "#0–41",
      explanation: "not stored on the server: expired, or never produced",
    });
  });
});

describe("run status", () => {
  const stream = (overrides: Partial<StreamFacts>): StreamFacts => ({
    status: "live",
    lastSeq: -1,
    eventCount: 0,
    missingCount: 0,
    failure: undefined,
    ...overrides,
  });

  it("says nothing is stored when the server synced the id at -1 with no events", () => {
    expect(describeRun(EMPTY_TRACE_MODEL, stream({})).kind).toBe("empty");
    expect(describeRun(EMPTY_TRACE_MODEL, stream({ status: "backfilling" })).kind).toBe("loading");
  });

  it("says the run failed to load when the stream failed before the run's end, and never running", () => {
    const status = describeRun(
      EMPTY_TRACE_MODEL,
      stream({ status: "failed", failure: "the token was refused" }),
    );
    expect(status).toMatchObject({ kind: "unavailable", label: "Failed to load", live: false });
    expect(status.headline).toBe("Could not load this run: the token was refused.");
  });

  it("lets the run's own end win over the connection", () => {
    const trace = traceBuilder();
    trace.add("plan_failed", { error: "x" });
    expect(describeRun(buildTraceModel(trace.events), stream({ status: "failed" })).kind).toBe("failed");
  });
});
