import { useMemo, useState } from "react";
import { formatDuration, plural } from "../format.js";
import { buildSpanTree, countNodes, type SpanNode, visibleRows } from "../span-tree.js";
import type { TraceModel } from "../trace-model.js";
import type { TimelineSpan } from "./tool-timeline.js";

/** Rows drawn at most; the timeline and the event list hold the rest. */
const MAX_ROWS = 400;

const STATE_WORD: Record<SpanNode["state"], string> = {
  pending: "running",
  success: "succeeded",
  error: "failed",
  unfinished: "never finished",
  span: "span",
};

export interface SpanTreeProps {
  readonly model: TraceModel;
  readonly span: TimelineSpan;
  readonly onShowEvent: (seq: number) => void;
}

/** Agents, tools and model calls nested by `parent_id`, each with a waterfall bar from start to end. */
export function SpanTree({ model, span, onShowEvent }: SpanTreeProps) {
  const roots = useMemo(() => buildSpanTree(model.toolCalls, model.spans), [model.toolCalls, model.spans]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const rows = visibleRows(roots, collapsed, MAX_ROWS);
  const total = countNodes(roots);
  const width = Math.max(span.end - span.start, 1000);

  const toggle = (id: string) =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  return (
    <section className="card spans" aria-labelledby="spans-heading" data-testid="span-tree">
      <h2 id="spans-heading" className="card__title">
        Span tree <span className="count">{plural(total, "span")}</span>
      </h2>
      <ul className="spans__list" aria-label="Spans by parent">
        {rows.map(({ node, depth }) => {
          const end = node.endedAt ?? span.end;
          const left = clamp(((node.startedAt - span.start) / width) * 100, 0, 100);
          const barWidth = clamp(((end - node.startedAt) / width) * 100, 0.35, 100 - left);
          const open = !collapsed.has(node.id);
          const seq = node.seq;
          return (
            <li
              key={node.id}
              className={`spans__row spans__row--${node.state}`}
              data-testid="span-row"
              data-span={node.id}
              data-depth={depth}
              data-state={node.state}
            >
              <span className="spans__label" style={{ paddingLeft: `${depth * 16}px` }}>
                {node.children.length > 0 ? (
                  <button
                    type="button"
                    className="spans__toggle"
                    aria-expanded={open}
                    aria-label={`${open ? "Collapse" : "Expand"} ${node.label}`}
                    onClick={() => toggle(node.id)}
                  >
                    {open ? "▾" : "▸"}
                  </button>
                ) : (
                  <span className="spans__toggle" aria-hidden="true" />
                )}
                <span className={`spans__kind spans__kind--${node.kind}`}>{node.kind}</span>
                {seq === undefined ? (
                  <span className="spans__name">{node.label}</span>
                ) : (
                  <button type="button" className="spans__name link-button" onClick={() => onShowEvent(seq)}>
                    {node.label}
                  </button>
                )}
                {node.detail && <span className="muted spans__detail">{node.detail}</span>}
              </span>
              <span className="spans__track" aria-hidden="true">
                <span
                  className={`timeline__bar timeline__bar--${node.state === "span" ? "success" : node.state} spans__bar`}
                  style={{ left: `${left}%`, width: `${barWidth}%` }}
                />
              </span>
              <span className="spans__duration mono">
                {node.endedAt === undefined
                  ? node.state === "unfinished"
                    ? STATE_WORD.unfinished
                    : "running"
                  : formatDuration(node.endedAt - node.startedAt)}
              </span>
            </li>
          );
        })}
      </ul>
      {rows.length < total && (
        <p className="muted">
          Showing {rows.length} of {total} spans; the timeline and the event list have every call.
        </p>
      )}
    </section>
  );
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), Math.max(min, max));
}
