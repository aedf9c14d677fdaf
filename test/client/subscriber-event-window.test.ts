import { describe, expect, it } from "vitest";
import { EventWindow } from "../../client/subscriber-event-window.js";
import { traceEvent } from "../support/events.js";

describe("EventWindow", () => {
  it("keeps the most recent `capacity` events in order and counts the rest as dropped", () => {
    const window = new EventWindow(3);
    const template = traceEvent(0);
    for (let seq = 0; seq < 10_000; seq++) window.push({ ...template, seq });
    expect(window.size).toBe(3);
    expect(window.droppedCount).toBe(9_997);
    expect(window.toArray().map((event) => event.seq)).toEqual([9_997, 9_998, 9_999]);
  });

  it("returns the same frozen array until the next push", () => {
    const window = new EventWindow(2);
    window.push(traceEvent(0));
    const first = window.toArray();
    expect(window.toArray()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    window.push(traceEvent(1));
    expect(window.toArray()).not.toBe(first);
    expect(first).toHaveLength(1);
  });

  it("puts a late event in its seq position, dropping the oldest when full", () => {
    const window = new EventWindow(4);
    for (const seq of [1, 2, 5, 6]) window.push(traceEvent(seq));
    window.insertInOrder(traceEvent(4));
    expect(window.toArray().map((event) => event.seq)).toEqual([2, 4, 5, 6]);
    window.insertInOrder(traceEvent(0));
    expect(window.toArray().map((event) => event.seq)).toEqual([2, 4, 5, 6]);
    expect(window.droppedCount).toBe(2);
    const roomy = new EventWindow(10);
    for (const seq of [3, 7]) roomy.push(traceEvent(seq));
    roomy.insertInOrder(traceEvent(1));
    roomy.insertInOrder(traceEvent(5));
    expect(roomy.toArray().map((event) => event.seq)).toEqual([1, 3, 5, 7]);
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new EventWindow(0)).toThrow(/maxEvents/);
    expect(() => new EventWindow(1.5)).toThrow(/maxEvents/);
  });
});
