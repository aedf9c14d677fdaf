import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_NAMES, type EventName, ServerFrame } from "../../protocol/index.js";
import { parseServerFrame } from "../../protocol/server-frames.js";

/**
 * The subscriber client checks frames by hand (no zod in a browser bundle). These properties hold
 * that parser to the zod schemas: for valid frames and for frames with one field replaced by an
 * arbitrary or a nearly right value, both accept or both refuse.
 */
const uuid = fc.uuid();
const timestamp = fc
  .date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2999-12-31T23:59:59Z"), noInvalidDate: true })
  .map((date) => date.toISOString());
const nearTimestamps = fc.constantFrom(
  "2026-11-26T12:00:00Z",
  "2026-11-26T12:00Z",
  "2026-11-26T12:00:00.123456Z",
  "2026-11-26T12:00:00+01:00",
  "2026-11-26T12:00:00+0100",
  "2026-11-26T12:00:00+01",
  "2026-11-26T24:00:00Z",
  "2026-02-29T12:00:00Z",
  "2024-02-29T12:00:00Z",
  "2026-04-31T12:00:00Z",
  "2026-13-01T12:00:00Z",
  "2026-11-26 12:00:00Z",
  "2026-11-26T12:00:00",
  "2026-11-26",
  "T12:00:00Z",
  "2026-11-26T12:60:00Z",
  "20261126T120000Z",
);
const nearUuids = fc.constantFrom(
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
  "6f1c2b7e-6d3a-4a8b-9c1d-2e3f4a5b6c7d",
  "6f1c2b7e-6d3a-0a8b-9c1d-2e3f4a5b6c7d",
  "6f1c2b7e-6d3a-9a8b-9c1d-2e3f4a5b6c7d",
  "6f1c2b7e-6d3a-4a8b-7c1d-2e3f4a5b6c7d",
  "6f1c2b7e6d3a4a8b9c1d2e3f4a5b6c7d",
  "{6f1c2b7e-6d3a-4a8b-9c1d-2e3f4a5b6c7d}",
);
const oddValues = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1, 1.5, 9_999_999_999, 10_000_000_000, 2 ** 53, "", "a".repeat(129), "a".repeat(65)),
  nearTimestamps,
  nearUuids,
);

const metadataFor = (name: EventName) =>
  fc
    .dictionary(
      fc.constantFrom(
        "tool",
        "call_id",
        "goal",
        "steps",
        "total_budget",
        "utilization",
        "decision",
        "expires_at",
        "name",
        "success",
        "cost_usd",
        "input_tokens",
        "extra",
      ),
      fc.oneof(
        fc.string({ maxLength: 3 }),
        fc.integer({ min: -2, max: 5 }),
        fc.double({ min: -1, max: 2, noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constantFrom("approved", "rejected", "2026-11-26T12:00:00+01:00", "x".repeat(129)),
        fc.dictionary(fc.string({ maxLength: 2 }), fc.oneof(fc.integer(), fc.string({ maxLength: 2 })), {
          maxKeys: 2,
        }),
      ),
      { maxKeys: 4 },
    )
    .map((metadata) =>
      name === "custom" && !("name" in metadata) ? { ...metadata, name: "thing" } : metadata,
    );

const event = fc
  .record({
    event: fc.oneof(fc.constantFrom(...EVENT_NAMES), fc.constantFrom("future_event", "Bad-Name", "x")),
    event_id: uuid,
    trace_id: fc.constantFrom("trace-1", "run:42/a.b_c"),
    seq: fc.integer({ min: 0, max: 1000 }),
    timestamp,
    status: fc.constantFrom("pending", "success", "error", "warning"),
    schema_version: fc.constant(1),
  })
  .chain((common) =>
    metadataFor(
      (EVENT_NAMES as readonly string[]).includes(common.event) ? (common.event as EventName) : "custom",
    ).map((metadata) => ({ ...common, metadata }) as Record<string, unknown>),
  );

const run = fc.record(
  {
    trace_id: fc.constantFrom("team-a/run-1", "run:42/a.b_c", "bad id"),
    goal: fc.oneof(fc.string({ maxLength: 5 }), fc.constant("g".repeat(201))),
    status: fc.constantFrom("running", "completed", "failed", "stalled"),
    started_at: fc.integer({ min: -1, max: 2_000_000_000_000 }),
    last_event_at: fc.integer({ min: 0, max: 2_000_000_000_000 }),
    tool_calls: fc.integer({ min: -1, max: 50 }),
    errors: fc.nat(5),
    model_calls: fc.nat(5),
    input_tokens: fc.nat(100_000),
    output_tokens: fc.oneof(fc.nat(100_000), fc.constant(1.5)),
    cost_usd: fc.double({ min: -0.5, max: 10, noNaN: true, noDefaultInfinity: true }),
  },
  {
    requiredKeys: [
      "trace_id",
      "status",
      "started_at",
      "last_event_at",
      "tool_calls",
      "errors",
      "model_calls",
      "input_tokens",
      "output_tokens",
      "cost_usd",
    ],
  },
);

const frame = fc.oneof(
  fc
    .record(
      { runs: fc.array(run, { maxLength: 3 }), next: fc.string({ maxLength: 3 }) },
      { requiredKeys: ["runs"] },
    )
    .map((fields) => ({ type: "runs", ...fields })),
  run.map((body) => ({ type: "run", run: body })),
  event.map((body) => ({ type: "event", ...body })),
  fc.array(event, { maxLength: 3 }).map((events) => ({ type: "events", trace_id: "trace-1", events })),
  fc
    .record({ last_seq: fc.integer({ min: -2, max: 10 }), more: fc.boolean() })
    .map((fields) => ({ type: "synced", trace_id: "trace-1", ...fields })),
  fc.constant({ type: "pong" }),
  fc
    .record({
      code: fc.constantFrom("rate_limited", "internal_error", "invalid_json", "nope"),
      message: fc.string(),
      retry_after_ms: fc.integer({ min: -1, max: 5000 }),
    })
    .map((fields) => ({ type: "error", ...fields })),
  fc
    .record({ seq: fc.integer({ min: -1, max: 10 }), event_id: uuid, reason: fc.string({ maxLength: 600 }) })
    .map((fields) => ({ type: "conflict", trace_id: "trace-1", ...fields })),
  fc
    .record({
      count: fc.integer({ min: 0, max: 1001 }),
      more: fc.boolean(),
      refused: fc.array(fc.record({ seq: fc.integer({ min: -1, max: 5 }), event_id: uuid }), {
        maxLength: 3,
      }),
    })
    .map((fields) => ({ type: "conflicts", trace_id: "trace-1", ...fields })),
);

/** Replaces the value at one path (top level, or inside metadata / the first event) with `value`. */
function replaceAt(target: Record<string, unknown>, pick: number, value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  const holders: Record<string, unknown>[] = [copy];
  const inner =
    (copy.events as Record<string, unknown>[] | undefined)?.[0] ??
    (copy.runs as Record<string, unknown>[] | undefined)?.[0] ??
    (copy.run as Record<string, unknown> | undefined) ??
    copy;
  holders.push(inner);
  if (typeof inner.metadata === "object" && inner.metadata !== null) {
    holders.push(inner.metadata as Record<string, unknown>);
  }
  const holder = holders[pick % holders.length] ?? copy;
  const keys = Object.keys(holder);
  const key = keys[pick % Math.max(keys.length, 1)] ?? "extra";
  holder[key] = value;
  return copy;
}

function accepts(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
}

function agree(value: unknown): void {
  const text = JSON.stringify(value);
  expect(
    accepts(() => parseServerFrame(text)),
    text,
  ).toBe(ServerFrame.safeParse(JSON.parse(text)).success);
}

describe("the hand-written server frame parser", () => {
  it("accepts and refuses the same frames as the zod schema", () => {
    fc.assert(fc.property(frame, agree), { numRuns: 2000 });
  });

  it("agrees with the schema on frames with one field replaced", () => {
    fc.assert(
      fc.property(frame, fc.nat(), oddValues, (body, pick, value) => agree(replaceAt(body, pick, value))),
      { numRuns: 3000 },
    );
  });

  it("refuses text that is not a JSON object with a SyntaxError or a named field", () => {
    expect(() => parseServerFrame("pong")).toThrow(SyntaxError);
    expect(() => parseServerFrame("[]")).toThrow(/frame must be an object/);
    expect(() => parseServerFrame('{"type":"synced","trace_id":"t","last_seq":"1"}')).toThrow(/last_seq/);
  });
});
