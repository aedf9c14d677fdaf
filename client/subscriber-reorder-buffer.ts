import type { ReceivedTraceEvent } from "../protocol/event-names.js";

/** An inclusive range of seqs, `from <= to`. */
export interface SeqRange {
  readonly from: number;
  readonly to: number;
}

/**
 * Puts events that arrive out of order, twice, or late back into seq order.
 *
 * `cursor` is the last contiguous seq handed out (-1 before the first): exactly what the client sends
 * as `afterSeq` when it resumes. Events at or below the cursor, or already buffered, are duplicates.
 */
export class ReorderBuffer {
  #cursor: number;
  readonly #pending = new Map<number, ReceivedTraceEvent>();

  constructor(cursor = -1) {
    this.#cursor = cursor;
  }

  get cursor(): number {
    return this.#cursor;
  }

  /** Events held back because a lower seq has not arrived yet. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** True while some seq above the cursor is missing and a higher one is waiting. */
  get hasGap(): boolean {
    return this.#pending.size > 0;
  }

  /** Buffers an event; false when it is a duplicate (already handed out or already buffered). */
  insert(event: ReceivedTraceEvent): boolean {
    if (event.seq <= this.#cursor || this.#pending.has(event.seq)) return false;
    this.#pending.set(event.seq, event);
    return true;
  }

  /** Hands out the next event in seq order, advancing the cursor to it; undefined at a gap. */
  shift(): ReceivedTraceEvent | undefined {
    const next = this.#pending.get(this.#cursor + 1);
    if (next === undefined) return undefined;
    this.#pending.delete(next.seq);
    this.#cursor = next.seq;
    return next;
  }

  /**
   * Gives up on the hole right above the cursor, up to `limit` or the next buffered event, whichever
   * comes first, and moves the cursor past it. Returns the skipped range, or undefined when there is
   * nothing to skip (the next seq is buffered or the cursor already reached `limit`).
   */
  skipGap(limit: number): SeqRange | undefined {
    const from = this.#cursor + 1;
    if (from > limit || this.#pending.has(from)) return undefined;
    let to = limit;
    for (const seq of this.#pending.keys()) if (seq > from && seq - 1 < to) to = seq - 1;
    this.#cursor = to;
    return { from, to };
  }
}

/** Whether `seq` lies in one of `ranges` (sorted ascending, not overlapping). */
export function rangesInclude(ranges: readonly SeqRange[], seq: number): boolean {
  return ranges.some((range) => range.from <= seq && seq <= range.to);
}

/** `ranges` without `seq`, splitting the range that holds it (other fields of a range are kept). */
export function removeFromRanges<Range extends SeqRange>(ranges: readonly Range[], seq: number): Range[] {
  return ranges.flatMap((range) => {
    if (seq < range.from || seq > range.to) return [range];
    const parts: Range[] = [];
    if (range.from < seq) parts.push({ ...range, to: seq - 1 });
    if (seq < range.to) parts.push({ ...range, from: seq + 1 });
    return parts;
  });
}
