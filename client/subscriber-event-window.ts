import type { ReceivedTraceEvent } from "../protocol/event-names.js";

/**
 * The most recent `capacity` events, oldest first. Older events are released for garbage
 * collection and counted in `droppedCount`. Pushing is amortized O(1): dropped slots are cleared at
 * once and the backing array is compacted when half of it is dead.
 */
export class EventWindow {
  readonly capacity: number;
  #items: (ReceivedTraceEvent | undefined)[] = [];
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
    if (this.size <= this.capacity) return;
    this.#items[this.#start] = undefined;
    this.#start++;
    this.#dropped++;
    if (this.#start >= this.capacity) {
      this.#items = this.#items.slice(this.#start);
      this.#start = 0;
    }
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
    this.#items.splice(low, 0, event);
    this.#view = null;
    if (this.size > this.capacity) {
      this.#items[this.#start] = undefined;
      this.#start++;
      this.#dropped++;
    }
  }

  /** The retained events, oldest first, as an array that stays the same until the next push. */
  toArray(): readonly ReceivedTraceEvent[] {
    if (this.#view === null) {
      const live = this.#items.slice(this.#start).filter((event) => event !== undefined);
      this.#view = Object.freeze(live);
    }
    return this.#view;
  }
}
