import { useEffect, useId, useState } from "react";
import type { RunFilter, RunSummaryWire, RunsFilter } from "../../client/runs-client.js";
import { formatCost, formatDuration, formatNumber } from "../format.js";
import { orderRuns, RUN_STATE_LABELS, runDuration, runState } from "../runs-view.js";
import { useNow } from "../use-now.js";
import { useViewerRuns } from "../use-runs.js";
import type { ViewerSetup } from "../viewer-config.js";

export interface RunsListProps {
  readonly setup: ViewerSetup;
  readonly stalledAfterMs: number;
  readonly onOpen: (traceId: string) => void;
}

const FILTERS: readonly { readonly value: RunFilter | ""; readonly label: string }[] = [
  { value: "", label: "All" },
  { value: "running", label: "Running" },
  { value: "stalled", label: "Stalled" },
  { value: "completed", label: "Completed" },
  { value: "failed", label: "Failed" },
];

/** Search is sent this long after the last keystroke, not on every one. */
const SEARCH_DELAY_MS = 250;

/** The start page's live runs list: active runs first, then recent ones, newest first. */
export function RunsList({ setup, stalledAfterMs, onOpen }: RunsListProps) {
  const now = useNow(1000);
  const searchId = useId();
  const statusId = useId();
  const [status, setStatus] = useState<RunFilter | "">("");
  const [search, setSearch] = useState("");
  const [filter, setFilter] = useState<RunsFilter>({});

  useEffect(() => {
    const timer = setTimeout(
      () => setFilter({ status: status || undefined, search: search.trim() || undefined }),
      search === "" ? 0 : SEARCH_DELAY_MS,
    );
    return () => clearTimeout(timer);
  }, [status, search]);
  const snapshot = useViewerRuns(setup, stalledAfterMs, filter);

  const runs = orderRuns(snapshot.runs, now, stalledAfterMs);
  const connection =
    snapshot.connection === "open" ? "Live" : snapshot.connection === "closed" ? "Closed" : "Connecting…";

  return (
    <section className="card runs" aria-labelledby="runs-heading" data-testid="runs-list">
      <div className="runs__head">
        <h1 id="runs-heading" className="runs__title">
          Runs
        </h1>
        <span
          className={`runs__connection runs__connection--${snapshot.connection}`}
          data-testid="runs-connection"
          role="status"
        >
          <span aria-hidden="true">{snapshot.connection === "open" ? "●" : "○"}</span> {connection}
        </span>
      </div>
      <div className="runs__filters">
        <label htmlFor={statusId} className="visually-hidden">
          Status
        </label>
        <select
          id={statusId}
          className="input runs__status"
          value={status}
          onChange={(change) => setStatus(change.target.value as RunFilter | "")}
          data-testid="runs-status-filter"
        >
          {FILTERS.map((filter) => (
            <option key={filter.value} value={filter.value}>
              {filter.label}
            </option>
          ))}
        </select>
        <label htmlFor={searchId} className="visually-hidden">
          Search by trace id prefix or goal
        </label>
        <input
          id={searchId}
          type="search"
          className="input runs__search"
          placeholder="Search id prefix or goal"
          value={search}
          onChange={(change) => setSearch(change.target.value)}
          autoComplete="off"
          spellCheck={false}
          data-testid="runs-search"
        />
      </div>
      {snapshot.error && (
        <p className="notice notice--error" role="alert" data-testid="runs-error">
          <span aria-hidden="true">✕</span> {snapshot.error}
        </p>
      )}
      {runs.length === 0 ? (
        <p className="muted runs__empty" data-testid="runs-empty">
          {snapshot.loading || snapshot.connection !== "open"
            ? "Loading runs…"
            : status || search
              ? "No runs match."
              : "No runs yet. Runs appear here as soon as their first event arrives."}
        </p>
      ) : (
        <table className="runs__table">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col" className="runs__num">
                Tools
              </th>
              <th scope="col" className="runs__num">
                Errors
              </th>
              <th scope="col" className="runs__num">
                Tokens
              </th>
              <th scope="col" className="runs__num">
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <RunRow
                key={run.trace_id}
                run={run}
                now={now}
                stalledAfterMs={stalledAfterMs}
                onOpen={onOpen}
              />
            ))}
          </tbody>
        </table>
      )}
      {snapshot.hasMore && (
        <button
          type="button"
          className="button runs__more"
          onClick={snapshot.loadMore}
          disabled={snapshot.loading}
          data-testid="runs-more"
        >
          {snapshot.loading ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}

function RunRow({
  run,
  now,
  stalledAfterMs,
  onOpen,
}: {
  readonly run: RunSummaryWire;
  readonly now: number;
  readonly stalledAfterMs: number;
  readonly onOpen: (traceId: string) => void;
}) {
  const state = runState(run, now, stalledAfterMs);
  const { icon, label } = RUN_STATE_LABELS[state];
  const started = new Date(run.started_at);
  const href = `?${new URLSearchParams({ ...Object.fromEntries(new URLSearchParams(window.location.search)), traceId: run.trace_id })}`;
  return (
    <tr
      className={`runs__row runs__row--${state}`}
      data-testid="run-row"
      data-trace-id={run.trace_id}
      data-state={state}
      onClick={() => onOpen(run.trace_id)}
    >
      <td className="runs__run">
        <div className="runs__run-cell">
          <a
            href={href}
            className="runs__goal"
            onClick={(click) => {
              click.preventDefault();
              click.stopPropagation();
              onOpen(run.trace_id);
            }}
          >
            {run.goal ?? <span className="muted">(no goal)</span>}
          </a>
          <span className="runs__id mono">{run.trace_id}</span>
        </div>
      </td>
      <td data-label="Status">
        <span className={`runs__state runs__state--${state}`} data-testid="run-state">
          <span aria-hidden="true">{icon}</span> {label}
        </span>
      </td>
      <td data-label="Started">
        <time dateTime={started.toISOString()} title={started.toLocaleString()}>
          {formatStarted(run.started_at, now)}
        </time>
      </td>
      <td data-label="Duration">{formatDuration(runDuration(run, now, stalledAfterMs))}</td>
      <td data-label="Tools" className="runs__num" data-testid="run-tools">
        {formatNumber(run.tool_calls)}
      </td>
      <td data-label="Errors" className={`runs__num${run.errors > 0 ? " runs__errors" : ""}`}>
        {formatNumber(run.errors)}
      </td>
      <td data-label="Tokens" className="runs__num">
        {formatNumber(run.input_tokens + run.output_tokens)}
      </td>
      <td data-label="Cost" className="runs__num">
        {formatCost(run.cost_usd)}
      </td>
    </tr>
  );
}

/** "14:03:07" today, "2 Dec 14:03" before. */
function formatStarted(epochMs: number, now: number): string {
  const date = new Date(epochMs);
  const today = new Date(now).toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString("en-GB", { hour12: false })
    : date.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}
