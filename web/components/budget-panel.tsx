import { formatNumber, formatPercent } from "../format.js";
import type { BudgetState, BudgetView } from "../trace-model.js";

const LOOK: Record<BudgetState, { icon: string; word: string; tone: string }> = {
  ok: { icon: "✓", word: "Within budget", tone: "success" },
  warning: { icon: "⚠", word: "Warning", tone: "warning" },
  exceeded: { icon: "✕", word: "Exceeded", tone: "error" },
};

export function BudgetPanel({ budgets }: { budgets: readonly BudgetView[] }) {
  return (
    <section className="card" aria-labelledby="budget-heading" data-testid="budgets">
      <h2 id="budget-heading" className="card__title">
        Budget
      </h2>
      {budgets.length === 0 ? (
        <p className="muted">No budget reported yet.</p>
      ) : (
        <ul className="budgets">
          {budgets.map((budget) => (
            <BudgetItem key={budget.budgetType} budget={budget} />
          ))}
        </ul>
      )}
    </section>
  );
}

function BudgetItem({ budget }: { budget: BudgetView }) {
  const look =
    budget.state === "ok" && budget.used === undefined && budget.utilization === undefined
      ? { icon: "○", word: "No usage reported yet", tone: "muted" }
      : LOOK[budget.state];
  const utilization =
    budget.utilization ??
    (budget.used !== undefined && budget.limit ? Math.min(1, budget.used / budget.limit) : undefined);
  const amounts =
    budget.used !== undefined && budget.limit !== undefined
      ? `${formatNumber(budget.used)} / ${formatNumber(budget.limit)}`
      : budget.limit !== undefined
        ? `limit ${formatNumber(budget.limit)}`
        : budget.used !== undefined
          ? `${formatNumber(budget.used)} used`
          : "";
  const label = `${budget.budgetType} budget`;
  return (
    <li className={`budget budget--${look.tone}`} data-state={budget.state} data-testid="budget">
      <div className="budget__row">
        <span className="budget__name">{budget.budgetType}</span>
        <span className="budget__amounts mono">{amounts}</span>
      </div>
      <meter
        className="meter"
        aria-label={label}
        min={0}
        max={1}
        value={Math.min(1, utilization ?? 0)}
        aria-valuetext={
          utilization === undefined ? "no usage reported" : `${formatPercent(utilization)} used`
        }
      />
      <p className={`budget__state tone--${look.tone}`}>
        <span aria-hidden="true">{look.icon}</span> {look.word}
        {utilization !== undefined && ` · ${formatPercent(utilization)} used`}
        {budget.state === "exceeded" && (budget.tool || budget.domain) && (
          <span className="muted"> · by {[budget.tool, budget.domain].filter(Boolean).join(" in ")}</span>
        )}
      </p>
    </li>
  );
}
