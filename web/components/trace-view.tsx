import { useCallback, useEffect, useMemo, useState } from "react";
import { useTraceStream } from "../../client/react.js";
import type { ReceivedTraceEvent } from "../../protocol/trace-event.js";
import { seqFromHash } from "../event-link.js";
import { describeRun } from "../run-status.js";
import { hasSpanStructure } from "../span-tree.js";
import { useNow } from "../use-now.js";
import { useTraceModel } from "../use-trace-model.js";
import type { ViewerSetup } from "../viewer-config.js";
import { ApprovalsPanel } from "./approvals-panel.js";
import { BudgetPanel } from "./budget-panel.js";
import { ConflictBanner } from "./conflict-banner.js";
import { ConnectionStatus } from "./connection-status.js";
import { CopyButton } from "./copy-button.js";
import { EventList } from "./event-list.js";
import { PlanSummary } from "./plan-summary.js";
import { ProblemsPanel } from "./problems-panel.js";
import { SpanTree } from "./span-tree.js";
import { ToolTimeline } from "./tool-timeline.js";

export interface TraceViewProps {
  readonly traceId: string;
  readonly setup: ViewerSetup;
  readonly onLeave: () => void;
}

/** Pending bars grow and clocks count this often while the run may still be going. */
const TICK_MS = 250;

/** One trace, live: connection state, plan summary, problems, tool-call timeline, budget, approvals, events. */
export function TraceView({ traceId, setup, onLeave }: TraceViewProps) {
  const { getToken, url } = setup;
  const stream = useTraceStream(traceId, { url, getToken: () => getToken(traceId) });
  const model = useTraceModel(traceId, stream.events);
  const [reveal, setReveal] = useState<{ seq: number; nonce: number } | null>(null);
  const showEvent = useCallback(
    (seq: number) => setReveal((current) => ({ seq, nonce: (current?.nonce ?? 0) + 1 })),
    [],
  );
  useLinkedEvent(stream.events, showEvent);

  const status = describeRun(model, {
    status: stream.status,
    lastSeq: stream.lastSeq,
    eventCount: stream.events.length,
    missingCount: stream.missing.length,
    failure: stream.state.status === "failed" ? stream.state.reason : undefined,
  });
  // "Running" as far as this page can tell: no terminal event, and the stream may still bring one.
  const running = status.live;
  const now = useNow(running ? TICK_MS : null);

  const span = useMemo(() => {
    const start = model.plan.startedAt ?? model.firstEventAt ?? now;
    const last = Math.max(model.plan.endedAt ?? 0, model.lastEventAt ?? start);
    return { start, end: running ? Math.max(now, last) : last };
  }, [model.plan.startedAt, model.plan.endedAt, model.firstEventAt, model.lastEventAt, running, now]);

  return (
    <>
      <header className="topbar">
        <a className="skip-link" href="#events">
          Skip to the event list
        </a>
        <div className="topbar__brand">
          <a
            href="./"
            className="brand"
            onClick={(click) => {
              click.preventDefault();
              onLeave();
            }}
          >
            <span className="brand__mark" aria-hidden="true" />
            trace-stream
          </a>
          <span className="topbar__trace">
            <span className="muted">Trace</span>{" "}
            <code className="mono" data-testid="trace-id">
              {traceId}
            </code>{" "}
            <CopyButton label="Copy id" text={() => traceId} testId="copy-trace-id" />
          </span>
        </div>
        <ConnectionStatus
          state={stream.state}
          onRetry={stream.reconnect}
          note={status.kind === "empty" ? "nothing stored for this id yet" : undefined}
        />
      </header>
      <main className="page" id="main">
        <h1 className="visually-hidden">Trace {traceId}</h1>
        <ConflictBanner conflicts={stream.conflicts} />
        <PlanSummary model={model} now={now} status={status} />
        <ProblemsPanel problems={model.problems} onShowEvent={showEvent} />
        {hasSpanStructure(model) && <SpanTree model={model} span={span} onShowEvent={showEvent} />}
        <div className="columns">
          <ToolTimeline calls={model.toolCalls} span={span} onShowEvent={showEvent} />
          <div className="columns__side">
            <BudgetPanel budgets={model.budgets} />
            <ApprovalsPanel approvals={model.approvals} now={now} />
          </div>
        </div>
        <EventList
          traceId={traceId}
          events={stream.events}
          start={span.start}
          reveal={reveal}
          droppedCount={stream.droppedCount}
          missing={stream.missing}
        />
      </main>
    </>
  );
}

/**
 * `#seq=N` in the address opens event N once it is shown (on load, or when a link on the page
 * changes the fragment); an event not arrived yet is opened when it arrives.
 */
function useLinkedEvent(events: readonly ReceivedTraceEvent[], showEvent: (seq: number) => void): void {
  const [wanted, setWanted] = useState(() => seqFromHash(window.location.hash));
  useEffect(() => {
    const onHashChange = () => setWanted(seqFromHash(window.location.hash));
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);
  useEffect(() => {
    if (wanted === undefined || !events.some((event) => event.seq === wanted)) return;
    showEvent(wanted);
    setWanted(undefined);
  }, [wanted, events, showEvent]);
}
