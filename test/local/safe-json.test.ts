import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { copyThroughJson, fallbackFailureBody, stringifyJson } from "../../local/safe-json.js";

describe("stringifyJson", () => {
  it("writes exactly what JSON.stringify writes (property)", () => {
    const extra = fc.oneof(
      fc.constant(undefined),
      fc.constant(Number.NaN),
      fc.constant(-0),
      fc.constant(Number.POSITIVE_INFINITY),
      fc.date({ noInvalidDate: false }),
      fc.constant(() => 1),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue(),
        extra,
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 6 }), tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (input) => {
        expect(stringifyJson(input)).toBe(JSON.stringify(input));
      }),
      { numRuns: 500 },
    );
  });

  it("honours toJSON and boxed primitives, and throws on cycles and BigInt as JSON.stringify does", () => {
    const input = {
      when: new Date(0),
      n: Object(3),
      s: Object("x"),
      custom: { toJSON: (key: string) => `k=${key}` },
    };
    expect(stringifyJson(input)).toBe(JSON.stringify(input));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stringifyJson(cyclic)).toThrow(TypeError);
    expect(() => stringifyJson({ big: 1n })).toThrow(TypeError);
  });

  it("handles 200,000 levels, where JSON.stringify throws a RangeError", () => {
    let deep: unknown = { leaf: true };
    for (let level = 0; level < 200_000; level++) deep = level % 2 ? { a: deep } : [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const text = stringifyJson(deep) ?? "";
    // 100,000 objects ({"a": and }) and 100,000 arrays ([ and ]) around {"leaf":true}.
    expect(text.length).toBe(100_000 * 6 + 100_000 * 2 + '{"leaf":true}'.length);
    expect(text.startsWith('{"a":[{"a":[')).toBe(true);
    expect(text.split('{"leaf":true}')).toHaveLength(2);
    let node = copyThroughJson(deep);
    let levels = 0;
    while (typeof node === "object" && node !== null && !("leaf" in node)) {
      node = Array.isArray(node) ? node[0] : (node as { a: unknown }).a;
      levels++;
    }
    expect(levels).toBe(200_000);
  });
});

describe("fallbackFailureBody", () => {
  it("redacts the record and never throws, even for a payload it cannot walk", () => {
    const record = {
      timestamp: "2026-12-01T00:00:00.000Z",
      requestContext: { requestId: "r-1", condition: "RetriesExhausted" },
      requestPayload: { detail: { metadata: { password: "fallback-secret" } } },
    };
    expect(fallbackFailureBody(record)).not.toContain("fallback-secret");
    const hostile = {
      ...record,
      get requestPayload(): unknown {
        throw new Error("cannot read");
      },
    };
    const body = JSON.parse(fallbackFailureBody(hostile));
    expect(body.requestContext.requestId).toBe("r-1");
    expect(body.requestPayload_omitted).toMatch(/could not be redacted/);
  });
});
