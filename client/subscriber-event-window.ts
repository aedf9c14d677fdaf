import type { ReceivedTraceEvent } from "../protocol/event-names.js";

/**
 * The most recent `capacity` events, oldest first. Older events are counted in `droppedCount` and
 * released for garbage collection when the backing array is compacted (every `capacity` drops).
 *
 * The array `toArray()` hands out (the snapshot's `events`) is a read-only view of the backing
 * array, so taking one after each new event costs O(1), not a copy of the window: the backing
 * array only grows at its end, and whatever would change a published view (compaction, a late
 * event spliced into the middle) first moves the window to a new backing array.
 */
export class EventWindow {
  readonly capacity: number;
  #items: ReceivedTraceEvent[] = [];
  #start = 0;
  #dropped = 0;
  #view: readonly ReceivedTraceEvent[] | null = null;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`maxEvents must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.length - this.#start;
  }

  /** How many events were released to stay within the capacity. */
  get droppedCount(): number {
    return this.#dropped;
  }

  push(event: ReceivedTraceEvent): void {
    this.#items.push(event);
    this.#view = null;
    if (this.size > this.capacity) this.#dropOldest();
  }

  /**
   * Puts a late event (one whose seq was given up as missing) in its seq position. An event older
   * than everything retained in a full window is counted as dropped at once.
   */
  insertInOrder(event: ReceivedTraceEvent): void {
    let low = this.#start;
    let high = this.#items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#items[middle]?.seq ?? Number.NEGATIVE_INFINITY) < event.seq) low = middle + 1;
      else high = middle;
    }
    if (low === this.#start && this.size >= this.capacity) {
      this.#dropped++;
      return;
    }
    // Published views cover the current backing array: the splice goes into a fresh one.
    const items = this.#items.slice(this.#start);
    items.splice(low - this.#start, 0, event);
    this.#items = items;
    this.#start = 0;
    this.#view = null;
    if (this.size > this.capacity) this.#dropOldest();
  }

  /** The retained events, oldest first, as a read-only array that stays the same until the next change. */
  toArray(): readonly ReceivedTraceEvent[] {
    this.#view ??= readOnlyView(this.#items, this.#start, this.#items.length);
    return this.#view;
  }

  #dropOldest(): void {
    this.#start++;
    this.#dropped++;
    if (this.#start >= this.capacity) {
      // A new backing array: views of the old one keep theirs, and the dropped events go with it.
      this.#items = this.#items.slice(this.#start);
      this.#start = 0;
    }
  }
}

const INDEX = /^(?:0|[1-9]\d*)$/;

/**
 * `items[start..end)` as an array that cannot be written: `length`, indexing, iteration, every
 * Array method, `Array.isArray` and JSON behave as on a frozen copy, at O(1) to make.
 */
function readOnlyView(
  items: readonly ReceivedTraceEvent[],
  start: number,
  end: number,
): readonly ReceivedTraceEvent[] {
  const length = end - start;
  const indexOf = (key: string | symbol): number | undefined => {
    if (typeof key !== "string" || !INDEX.test(key)) return undefined;
    const index = Number(key);
    return index < length ? index : undefined;
  };
  const refuse = () => false;
  return new Proxy([] as ReceivedTraceEvent[], {
    get(target, key, receiver) {
      if (key === "length") return length;
      const index = indexOf(key);
      if (index !== undefined) return items[start + index];
      if (typeof key === "string" && INDEX.test(key)) return undefined;
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (key === "length") return true;
      if (typeof key === "string" && INDEX.test(key)) return indexOf(key) !== undefined;
      return Reflect.has(target, key);
    },
    ownKeys() {
      const keys: string[] = [];
      for (let index = 0; index < length; index++) keys.push(String(index));
      keys.push("length");
      return keys;
    },
    getOwnPropertyDescriptor(target, key) {
      if (key === "length") return { value: length, writable: true, enumerable: false, configurable: false };
      const index = indexOf(key);
      if (index !== undefined)
        return { value: items[start + index], writable: false, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
    setPrototypeOf: refuse,
  });
}
