/**
 * What the page can say about seqs the server did not have (pure). The server knows only that
 * they are not stored. Events of a trace expire oldest first, so a gap at the very start of the run
 * may have expired; a gap between stored events was never stored: the producer never sent it, or it
 * was lost on the way (and it may still arrive, then it is shown in place).
 */
import type { SeqRange } from "../client/subscriber-reorder-buffer.js";

export interface GapNote {
  readonly seqs: string;
  readonly explanation: string;
}

export function describeGaps(missing: readonly SeqRange[]): GapNote[] {
  const atStart = missing.filter((range) => range.from === 0);
  const between = missing.filter((range) => range.from !== 0);
  const notes: GapNote[] = [];
  if (atStart.length > 0) {
    notes.push({
      seqs: listRanges(atStart),
      explanation: "not stored on the server: expired, or never produced",
    });
  }
  if (between.length > 0) {
    notes.push({
      seqs: listRanges(between),
      explanation:
        "never stored on the server: not produced, or lost before storage; shown in place if they still arrive",
    });
  }
  return notes;
}

function listRanges(ranges: readonly SeqRange[]): string {
  return ranges
    .map((range) => (range.from === range.to ? `#${range.from}` : `#${range.from}–${range.to}`))
    .join(", ");
}
