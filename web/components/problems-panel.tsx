import { formatClock, plural } from "../format.js";
import type { ProblemView } from "../trace-model.js";

export interface ProblemsPanelProps {
  readonly problems: readonly ProblemView[];
  /** Opens the event with this seq in the event list. */
  readonly onShowEvent: (seq: number) => void;
}

const SHOWN = 5;

/** Errors stand out: failed calls, rejected or timed-out approvals, exceeded budgets, a failed plan. */
export function ProblemsPanel({ problems, onShowEvent }: ProblemsPanelProps) {
  if (problems.length === 0) return null;
  const latest = problems.slice(-SHOWN).reverse();
  return (
    <section className="card problems" aria-labelledby="problems-heading" data-testid="problems">
      <h2 id="problems-heading" className="problems__heading">
        <span aria-hidden="true">⚠</span> {plural(problems.length, "problem")}
        {problems.length > SHOWN && <span className="muted"> (latest {SHOWN} shown)</span>}
      </h2>
      <ul className="problems__list">
        {latest.map((problem) => (
          <li key={problem.seq} className="problems__item">
            <span className="problems__icon" aria-hidden="true">
              ✕
            </span>
            <span className="problems__text">
              <strong>{problem.title}</strong>
              {problem.detail && <span className="problems__detail"> — {problem.detail}</span>}
            </span>
            <time className="muted mono" dateTime={new Date(problem.at).toISOString()}>
              {formatClock(problem.at)}
            </time>
            <button type="button" className="link-button" onClick={() => onShowEvent(problem.seq)}>
              Show event #{problem.seq}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
