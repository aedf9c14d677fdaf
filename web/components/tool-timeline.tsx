import { useCallback, useState } from "react";
import { formatCost, formatDuration, formatNumber, formatTick, plural, tickStep } from "../format.js";
import type { CallState, ToolCallView } from "../trace-model.js";
import { rowStyle, VirtualList } from "./virtual-list.js";

export interface TimelineSpan {
  /** Epoch ms at the left edge (the run's start). */
  readonly start: number;
  /** Epoch ms at the right edge (now while running, else the last event). */
  readonly end: number;
}

export interface ToolTimelineProps {
  readonly calls: readonly ToolCallView[];
  readonly span: TimelineSpan;
  readonly onShowEvent: (seq: number) => void;
}

const ROW_HEIGHT = 34;
const MAX_HEIGHT = 420;

const LOOK: Record<CallState, { icon: string; word: string }> = {
  pending: { icon: "◔", word: "running" },
  success: { icon: "✓", word: "succeeded" },
  error: { icon: "✕", word: "failed" },
  unfinished: { icon: "◌", word: "never finished" },
};

/** Each tool call as a bar from its start to its end (or to now while it runs), on one time axis. */
export function ToolTimeline({ calls, span, onShowEvent }: ToolTimelineProps) {
  const width = Math.max(span.end - span.start, 1000);
  const step = tickStep(width);
  const ticks: number[] = [];
  for (let tick = 0; tick <= width; tick += step) ticks.push(tick);
  const stepPercent = (step / width) * 100;
  const [following, setFollowing] = useState(true);
  const [scrollToEnd, setScrollToEnd] = useState<() => void>(() => () => {});
  const keyOf = useCallback((index: number) => index, []);
  const indexOf = useCallback((key: number) => (key < calls.length ? key : undefined), [calls.length]);
  const running = calls.filter((call) => call.state === "pending").length;
  const modelCalls = calls.filter((call) => call.kind === "model").length;

  return (
    <section className="card timeline" aria-labelledby="timeline-heading" data-testid="timeline">
      <div className="card__header">
        <h2 id="timeline-heading" className="card__title">
          Tool and model calls{" "}
          <span className="count" data-testid="call-counts">
            {plural(calls.length - modelCalls, "tool call")}
            {modelCalls > 0 && ` · ${plural(modelCalls, "model call")}`}
          </span>
          {running > 0 && <span className="count count--pending">{running} running</span>}
        </h2>
        {!following && (
          <button type="button" className="button button--small" onClick={() => scrollToEnd()}>
            Jump to latest
          </button>
        )}
      </div>
      {calls.length === 0 ? (
        <p className="muted">No tool calls yet.</p>
      ) : (
        <>
          <div className="timeline__axis" aria-hidden="true">
            <span className="timeline__axis-label" />
            <span className="timeline__axis-track">
              {ticks.map((tick) => (
                <span key={tick} className="timeline__tick" style={{ left: `${(tick / width) * 100}%` }}>
                  {formatTick(tick)}
                </span>
              ))}
            </span>
            <span className="timeline__axis-duration" />
          </div>
          <VirtualList
            count={calls.length}
            rowHeight={ROW_HEIGHT}
            maxHeight={MAX_HEIGHT}
            keyOf={keyOf}
            indexOf={indexOf}
            label={`Tool calls, ${calls.length}`}
            followEnd
            onFollowChange={setFollowing}
            scrollToEndRef={(fn) => setScrollToEnd(() => fn)}
            className="timeline__list"
            renderRow={({ index, top, measureRef }) => {
              const call = calls[index] as ToolCallView;
              return (
                <TimelineRow
                  key={call.key}
                  call={call}
                  top={top}
                  measureRef={measureRef}
                  position={index + 1}
                  total={calls.length}
                  span={span}
                  width={width}
                  stepPercent={stepPercent}
                  onShowEvent={onShowEvent}
                />
              );
            }}
          />
        </>
      )}
    </section>
  );
}

interface TimelineRowProps {
  readonly call: ToolCallView;
  readonly top: number;
  /** Rows grow on small screens, where long tool names wrap instead of being cut. */
  readonly measureRef: (element: HTMLElement | null) => void;
  readonly position: number;
  readonly total: number;
  readonly span: TimelineSpan;
  readonly width: number;
  readonly stepPercent: number;
  readonly onShowEvent: (seq: number) => void;
}

function TimelineRow({
  call,
  top,
  measureRef,
  position,
  total,
  span,
  width,
  stepPercent,
  onShowEvent,
}: TimelineRowProps) {
  const look = LOOK[call.state];
  // An unfinished call's bar stops at the run's end: it is not counting any more.
  const end = call.endedAt ?? Math.max(span.end, call.startedAt);
  const duration = call.durationMs ?? end - call.startedAt;
  const left = clamp(((call.startedAt - span.start) / width) * 100, 0, 100);
  const barWidth = clamp(((end - call.startedAt) / width) * 100, 0.35, 100 - left);
  const durationText =
    call.state === "pending"
      ? `running ${formatDuration(duration)}`
      : call.state === "unfinished"
        ? "never finished"
        : call.state === "error"
          ? `failed · ${formatDuration(duration)}`
          : formatDuration(duration);
  const seq = call.endSeq ?? call.startSeq;
  const took =
    call.state === "pending"
      ? ` for ${formatDuration(duration)}`
      : call.state === "unfinished"
        ? ` (started ${formatDuration(call.startedAt - span.start)} in, no end event before the run ended)`
        : ` in ${formatDuration(duration)}`;
  const usage = usageText(call);
  const description = `${call.kind === "model" ? "model call " : ""}${call.tool} ${look.word}${took}${usage ? ` (${usage})` : ""}${call.error ? `: ${call.error}` : ""}`;

  return (
    <li
      ref={measureRef}
      data-row-key={position - 1}
      style={rowStyle(top)}
      className={`timeline__row timeline__row--${call.state}`}
      data-testid="tool-call"
      data-state={call.state}
      data-tool={call.tool}
      data-kind={call.kind}
      aria-posinset={position}
      aria-setsize={total}
    >
      <span className="timeline__label">
        <span className={`status-icon status-icon--${call.state}`} role="img" aria-label={look.word}>
          {look.icon}
        </span>
        {seq === undefined ? (
          <span className="timeline__tool">{call.tool}</span>
        ) : (
          <button
            type="button"
            className="timeline__tool link-button"
            onClick={() => onShowEvent(seq)}
            title={`Show the event of ${call.tool} in the event list`}
          >
            {call.tool}
          </button>
        )}
        {call.kind === "model" ? (
          <span className="timeline__domain timeline__usage" data-testid="call-usage">
            {[call.provider ?? "model", usageText(call)].filter(Boolean).join(" · ")}
          </span>
        ) : (
          call.domain && <span className="timeline__domain">{call.domain}</span>
        )}
      </span>
      <span
        className="timeline__track"
        style={{ backgroundSize: `${stepPercent}% 100%` }}
        title={description}
        aria-hidden="true"
      >
        <span
          className={`timeline__bar timeline__bar--${call.state}`}
          style={{ left: `${left}%`, width: `${barWidth}%` }}
        />
      </span>
      <span
        className={`timeline__duration mono tone--${call.state === "error" ? "error" : call.state === "pending" ? "pending" : "muted"}`}
      >
        {durationText}
      </span>
      {call.error && <span className="visually-hidden">: {call.error}</span>}
    </li>
  );
}

/** "1,200→340 tok · $0.0123" for a model call that reported usage. */
export function usageText(call: ToolCallView): string {
  const usage = call.usage;
  if (usage === undefined) return "";
  const tokens =
    usage.inputTokens === undefined && usage.outputTokens === undefined
      ? ""
      : `${formatNumber(usage.inputTokens ?? 0)}→${formatNumber(usage.outputTokens ?? 0)} tok`;
  const cost = usage.costUsd === undefined ? "" : formatCost(usage.costUsd);
  return [tokens, cost].filter(Boolean).join(" · ");
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}
