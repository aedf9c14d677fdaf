/** The words of the banner for a trace whose id another run reused (pure; the component lays it out). */
import type { TraceConflicts } from "../client/trace-stream-client.js";
import { formatNumber, plural } from "./format.js";

export interface ConflictView {
  /** "Another run reused this trace id: 18 events were refused." */
  readonly title: string;
  /** What the page shows instead, which seqs, and what to do. */
  readonly detail: string;
}

/** At most this many seq ranges are written out; the rest is "…". */
const RANGES_SHOWN = 6;

export function describeConflicts(conflicts: TraceConflicts): ConflictView {
  const count = `${conflicts.more ? "more than " : ""}${formatNumber(conflicts.count)}`;
  const refused = conflicts.count === 1 && !conflicts.more ? "event was" : "events were";
  const seqs = conflicts.seqs.length > 0 ? ` (${seqRanges(conflicts.seqs)})` : "";
  return {
    title: `Another run reused this trace id: ${count} ${refused} refused.`,
    detail:
      `This page shows the run that used the id first; the later run's ${plural(conflicts.count, "event")}${seqs} ` +
      "clashed with seqs it already had and are in the dead-letter queue as seq_conflict. " +
      "Give every run its own trace id (newTraceId() in the SDKs, or leave out --trace).",
  };
}

function seqRanges(seqs: readonly number[]): string {
  const ranges: string[] = [];
  for (let index = 0; index < seqs.length; ) {
    const from = seqs[index] as number;
    let to = from;
    while (index + 1 < seqs.length && seqs[index + 1] === to + 1) to = seqs[++index] as number;
    index++;
    ranges.push(from === to ? `#${from}` : `#${from}–${to}`);
  }
  const shown = ranges.slice(0, RANGES_SHOWN).join(", ");
  return ranges.length > RANGES_SHOWN ? `${shown}, …` : shown;
}
