import { memo, useCallback, useEffect, useRef, useState } from "react";
import type { SeqRange } from "../../client/subscriber-reorder-buffer.js";
import type { ReceivedTraceEvent } from "../../protocol/trace-event.js";
import { eventLink, exportFileName, toJsonLines } from "../event-link.js";
import { STATUS_LOOK, summarizeEvent } from "../event-summary.js";
import { formatClock, formatNumber, formatOffset, plural } from "../format.js";
import { describeGaps } from "../gap-view.js";
import { CopyButton } from "./copy-button.js";
import { indexOfSortedKey, rowStyle, VirtualList, type VirtualRow } from "./virtual-list.js";

export interface EventListProps {
  readonly traceId: string;
  readonly events: readonly ReceivedTraceEvent[];
  /** Start of the run (epoch ms), for offsets. */
  readonly start: number | undefined;
  /** Opens and scrolls to this seq whenever `nonce` changes. */
  readonly reveal: { readonly seq: number; readonly nonce: number } | null;
  readonly droppedCount: number;
  readonly missing: readonly SeqRange[];
}

const ROW_HEIGHT = 36;
const MAX_HEIGHT = 560;
const seqOf = (event: ReceivedTraceEvent) => event.seq;

/** Every event once, in seq order; any row opens to its full (redacted) JSON. */
export function EventList({ traceId, events, start, reveal, droppedCount, missing }: EventListProps) {
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(() => new Set());
  const [following, setFollowing] = useState(true);
  const [scrollToEnd, setScrollToEnd] = useState<() => void>(() => () => {});
  const [onlyProblems, setOnlyProblems] = useState(false);

  const shown = onlyProblems
    ? events.filter((event) => event.status === "error" || event.status === "warning")
    : events;
  const keyOf = useCallback((index: number) => (shown[index] as ReceivedTraceEvent).seq, [shown]);
  const indexOf = useCallback((seq: number) => indexOfSortedKey(shown, seq, seqOf), [shown]);

  const toggle = useCallback((seq: number) => {
    setExpanded((current) => {
      const next = new Set(current);
      if (!next.delete(seq)) next.add(seq);
      return next;
    });
  }, []);

  // Each reveal request (a new nonce) opens its row once; the list scrolls to it and focus moves
  // to its toggle.
  const revealed = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (reveal === null || reveal.nonce === revealed.current) return;
    revealed.current = reveal.nonce;
    const { seq } = reveal;
    // The filter would hide a revealed success: show everything.
    if (!shown.some((event) => event.seq === seq)) setOnlyProblems(false);
    setExpanded((current) => (current.has(seq) ? current : new Set(current).add(seq)));
    // After the list has rendered the row (a missing row simply keeps focus where it is).
    requestAnimationFrame(() => document.getElementById(toggleId(seq))?.focus({ preventScroll: true }));
  }, [reveal, shown]);

  const renderRow = ({ index, top, measureRef }: VirtualRow) => {
    const event = shown[index] as ReceivedTraceEvent;
    return (
      <EventRow
        key={event.seq}
        event={event}
        top={top}
        measureRef={measureRef}
        position={index + 1}
        total={shown.length}
        start={start}
        open={expanded.has(event.seq)}
        onToggle={toggle}
        traceId={traceId}
      />
    );
  };

  const first = events[0];
  return (
    <section className="card events" aria-labelledby="events-heading" id="events" data-testid="events">
      <div className="card__header">
        <h2 id="events-heading" className="card__title">
          Events{" "}
          <span className="count" data-testid="event-count">
            {plural(events.length + droppedCount, "event")}
          </span>
        </h2>
        <div className="toolbar">
          <button
            type="button"
            className="button button--small"
            data-testid="export-jsonl"
            disabled={events.length === 0}
            title={
              droppedCount > 0
                ? `The ${events.length} events still in memory; ${droppedCount} earlier ones were released`
                : "Every event of the trace, one JSON object per line"
            }
            onClick={() => download(exportFileName(traceId), toJsonLines(events))}
          >
            Export JSON Lines
          </button>
          <label className="toggle">
            <input
              type="checkbox"
              checked={onlyProblems}
              onChange={(change) => setOnlyProblems(change.target.checked)}
            />
            Only errors and warnings
          </label>
          {!following && (
            <button type="button" className="button button--small" onClick={() => scrollToEnd()}>
              Jump to latest
            </button>
          )}
        </div>
      </div>
      {droppedCount > 0 && first !== undefined && (
        <p className="notice" role="note">
          The list keeps the latest {formatNumber(events.length)} events;{" "}
          {plural(droppedCount, "earlier event")} (before #{first.seq}) were released from memory. The
          summaries above still count them.
        </p>
      )}
      {missing.length > 0 && (
        <p className="notice notice--warning" role="note" data-testid="missing">
          <span aria-hidden="true">⚠</span> Not shown:{" "}
          {describeGaps(missing).map((note, index) => (
            <span key={note.seqs}>
              {index > 0 && "; "}
              {note.seqs} ({note.explanation})
            </span>
          ))}
        </p>
      )}
      {shown.length === 0 ? (
        <p className="muted">{events.length === 0 ? "No events yet." : "No errors or warnings."}</p>
      ) : (
        <VirtualList
          count={shown.length}
          rowHeight={ROW_HEIGHT}
          maxHeight={MAX_HEIGHT}
          keyOf={keyOf}
          indexOf={indexOf}
          label={`Event list, ${shown.length} events`}
          followEnd
          onFollowChange={setFollowing}
          scrollToEndRef={(fn) => setScrollToEnd(() => fn)}
          reveal={reveal === null ? null : { key: reveal.seq, nonce: reveal.nonce }}
          className="events__list"
          renderRow={renderRow}
        />
      )}
    </section>
  );
}

interface EventRowProps {
  readonly event: ReceivedTraceEvent;
  readonly top: number;
  readonly measureRef: (element: HTMLElement | null) => void;
  readonly position: number;
  readonly total: number;
  readonly start: number | undefined;
  readonly open: boolean;
  readonly onToggle: (seq: number) => void;
  readonly traceId: string;
}

const EventRow = memo(function EventRow({
  event,
  top,
  measureRef,
  position,
  total,
  start,
  open,
  onToggle,
  traceId,
}: EventRowProps) {
  const look = STATUS_LOOK[event.status];
  const at = Date.parse(event.timestamp);
  const panelId = `event-${event.seq}-json`;
  return (
    <li
      ref={measureRef}
      style={rowStyle(top)}
      data-row-key={event.seq}
      data-seq={event.seq}
      data-event={event.event}
      data-status={event.status}
      data-testid="event-row"
      className={`event event--${event.status}${open ? " event--open" : ""}`}
      aria-posinset={position}
      aria-setsize={total}
    >
      <button
        type="button"
        id={toggleId(event.seq)}
        className="event__toggle"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => onToggle(event.seq)}
      >
        <span className="event__chevron" aria-hidden="true">
          ▸
        </span>
        <span className="event__seq mono">#{event.seq}</span>
        <time className="event__time mono" dateTime={event.timestamp} title={event.timestamp}>
          {start === undefined || Number.isNaN(at) ? formatClock(at) : formatOffset(at - start)}
        </time>
        <span className={`event__status tone--${event.status}`}>
          <span aria-hidden="true">{look.icon}</span>
          <span className="visually-hidden">{look.word}</span>
        </span>
        <span className="event__name mono">{event.event}</span>
        <span className="event__summary">{summarizeEvent(event)}</span>
      </button>
      {open && (
        <>
          <div className="event__actions">
            <a href={`#seq=${event.seq}`} className="event__link" data-testid="event-link">
              Link to #{event.seq}
            </a>
            <CopyButton
              label="Copy link"
              text={() => eventLink(window.location, traceId, event.seq)}
              testId="copy-event-link"
            />
            <CopyButton
              label="Copy JSON"
              text={() => JSON.stringify(event, null, 2)}
              testId="copy-event-json"
            />
          </div>
          <pre id={panelId} className="event__json">
            {JSON.stringify(event, null, 2)}
          </pre>
        </>
      )}
    </li>
  );
});

/** Saves `text` as a file through a temporary object URL. */
function download(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/x-ndjson" }));
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = fileName;
  anchor.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function toggleId(seq: number): string {
  return `event-${seq}-toggle`;
}
