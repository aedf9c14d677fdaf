import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReorderBuffer, rangesInclude, removeFromRanges } from "../../client/subscriber-reorder-buffer.js";
import { traceEvent } from "../support/events.js";

function drain(buffer: ReorderBuffer): number[] {
  const out: number[] = [];
  for (let event = buffer.shift(); event !== undefined; event = buffer.shift()) out.push(event.seq);
  return out;
}

describe("ReorderBuffer", () => {
  it("hands out any shuffled, duplicated delivery of 0..n-1 as exactly 0..n-1", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 60 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.shuffledSubarray([...Array(n).keys(), ...Array(n).keys()], { minLength: 2 * n }),
            ),
          ),
        ([n, deliveries]) => {
          const buffer = new ReorderBuffer();
          const out: number[] = [];
          for (const seq of deliveries) {
            buffer.insert(traceEvent(seq));
            out.push(...drain(buffer));
          }
          expect(out).toEqual([...Array(n).keys()]);
          expect(buffer.cursor).toBe(n - 1);
          expect(buffer.hasGap).toBe(false);
        },
      ),
    );
  });

  it("refuses seqs at or below the cursor and seqs already buffered", () => {
    const buffer = new ReorderBuffer(4);
    expect(buffer.insert(traceEvent(4))).toBe(false);
    expect(buffer.insert(traceEvent(7))).toBe(true);
    expect(buffer.insert(traceEvent(7))).toBe(false);
    expect(buffer.pendingCount).toBe(1);
    expect(buffer.hasGap).toBe(true);
  });

  it("skips a hole up to the next buffered seq or the limit, whichever comes first", () => {
    const buffer = new ReorderBuffer(0);
    buffer.insert(traceEvent(4));
    buffer.insert(traceEvent(9));
    expect(buffer.skipGap(20)).toEqual({ from: 1, to: 3 });
    expect(drain(buffer)).toEqual([4]);
    expect(buffer.skipGap(6)).toEqual({ from: 5, to: 6 });
    expect(buffer.cursor).toBe(6);
    expect(buffer.skipGap(6)).toBeUndefined();
    expect(buffer.skipGap(20)).toEqual({ from: 7, to: 8 });
    expect(buffer.skipGap(20)).toBeUndefined();
    expect(drain(buffer)).toEqual([9]);
  });

  it("removes one seq from a list of ranges, splitting the range that holds it", () => {
    const ranges = [
      { from: 1, to: 1 },
      { from: 4, to: 8 },
    ];
    expect(rangesInclude(ranges, 6)).toBe(true);
    expect(rangesInclude(ranges, 3)).toBe(false);
    expect(removeFromRanges(ranges, 6)).toEqual([
      { from: 1, to: 1 },
      { from: 4, to: 5 },
      { from: 7, to: 8 },
    ]);
    expect(removeFromRanges(ranges, 1)).toEqual([{ from: 4, to: 8 }]);
    expect(removeFromRanges(ranges, 8)).toEqual([
      { from: 1, to: 1 },
      { from: 4, to: 7 },
    ]);
  });
});
