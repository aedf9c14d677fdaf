import { describe, expect, it } from "vitest";
import { fullJitterDelay } from "../../client/subscriber-backoff.js";

const policy = { initialDelayMs: 500, maxDelayMs: 30_000 };

describe("fullJitterDelay", () => {
  it("spreads each attempt uniformly between 0 and the doubling ceiling", () => {
    expect([0, 1, 2, 3].map((attempt) => fullJitterDelay(attempt, policy, () => 0.999_999))).toEqual([
      499, 999, 1_999, 3_999,
    ]);
    expect(fullJitterDelay(3, policy, () => 0)).toBe(0);
    expect(fullJitterDelay(3, policy, () => 0.5)).toBe(2_000);
  });

  it("never exceeds maxDelayMs, even after very many attempts", () => {
    expect(fullJitterDelay(6, policy, () => 0.999_999)).toBe(29_999);
    expect(fullJitterDelay(5_000, policy, () => 0.999_999)).toBe(29_999);
  });
});
