import { describe, expect, it } from "vitest";
import { EventWindow } from "../../client/subscriber-event-window.js";
import type { ReceivedTraceEvent } from "../../protocol/index.js";
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

  it("returns the same read-only array until the next push", () => {
    const window = new EventWindow(2);
    window.push(traceEvent(0));
    const first = window.toArray();
    expect(window.toArray()).toBe(first);
    const writable = first as ReceivedTraceEvent[];
    expect(() => writable.push(traceEvent(9))).toThrow(TypeError);
    expect(() => {
      writable[0] = traceEvent(9);
    }).toThrow(TypeError);
    window.push(traceEvent(1));
    expect(window.toArray()).not.toBe(first);
    expect(first).toHaveLength(1);
  });

  it("hands out arrays that behave as plain ones: indexing, iteration, methods, JSON, equality", () => {
    const window = new EventWindow(5);
    for (let seq = 0; seq < 3; seq++) window.push(traceEvent(seq));
    const events = window.toArray();
    const copy = events.map((event) => event);
    expect(Array.isArray(events)).toBe(true);
    expect(events).toEqual(copy);
    expect([...events]).toEqual(copy);
    expect(events[1]).toBe(copy[1]);
    expect(events[3]).toBeUndefined();
    expect(3 in events).toBe(false);
    expect(Object.keys(events)).toEqual(["0", "1", "2"]);
    expect(JSON.parse(JSON.stringify(events))).toEqual(JSON.parse(JSON.stringify(copy)));
    expect(events.at(-1)?.seq).toBe(2);
    expect(events.slice(1).map((event) => event.seq)).toEqual([1, 2]);
  });

  it("keeps every array it handed out as it was while later events arrive, drop and come late", () => {
    const window = new EventWindow(4);
    const taken: { view: readonly ReceivedTraceEvent[]; seqs: number[] }[] = [];
    const take = () => {
      const view = window.toArray();
      taken.push({ view, seqs: view.map((event) => event.seq) });
    };
    for (const seq of [0, 1, 2, 4, 5, 7, 8, 9, 10, 12, 13]) {
      window.push(traceEvent(seq));
      take();
    }
    window.insertInOrder(traceEvent(11));
    take();
    for (let seq = 14; seq < 30; seq++) {
      window.push(traceEvent(seq));
      take();
    }
    for (const { view, seqs } of taken) expect(view.map((event) => event.seq)).toEqual(seqs);
    expect(taken.at(-1)?.seqs).toEqual([26, 27, 28, 29]);
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
