import { formatCost, formatDuration, formatNumber, plural } from "../format.js";
import type { RunStatus } from "../run-status.js";
import type { TraceModel } from "../trace-model.js";

export interface PlanSummaryProps {
  readonly model: TraceModel;
  /** Current time while the run may still be going; elapsed time counts up to it. */
  readonly now: number;
  /** The one answer the header and every panel share (see `describeRun`). */
  readonly status: RunStatus;
}

export function PlanSummary({ model, now, status }: PlanSummaryProps) {
  const { plan, usage } = model;
  const toolCalls = model.toolCalls.filter((call) => call.kind === "tool");
  const elapsed = elapsedMs(model, now, status.live);
  const failedCalls = toolCalls.filter((call) => call.state === "error").length;
  const pendingCalls = toolCalls.filter((call) => call.state === "pending").length;
  const unfinishedCalls = toolCalls.filter((call) => call.state === "unfinished").length;
  const steps =
    plan.steps === undefined
      ? plan.stepsCompleted === undefined
        ? "–"
        : `${plan.stepsCompleted} completed`
      : plan.stepsCompleted === undefined
        ? `${plan.steps} planned`
        : `${plan.stepsCompleted} of ${plan.steps}`;

  return (
    <section className="card plan" aria-labelledby="plan-heading" data-testid="plan-summary">
      <div className="plan__head">
        <div>
          <h2 id="plan-heading" className="eyebrow">
            Plan
          </h2>
          <p className="plan__goal">{plan.goal ?? status.headline ?? "No goal given"}</p>
          {plan.goal !== undefined && status.headline !== undefined && (
            <p className="plan__note muted">{status.headline}</p>
          )}
        </div>
        <p
          className={`badge badge--${status.tone} badge--large`}
          data-testid="plan-outcome"
          data-outcome={status.kind}
        >
          <span aria-hidden="true">{status.icon}</span> {status.label}
        </p>
      </div>
      {plan.outcome === "failed" && (plan.error || plan.errorType) && (
        <p className="plan__error">
          <strong>{plan.errorType ?? "Error"}:</strong> {plan.error ?? "no message"}
        </p>
      )}
      <dl className="facts">
        <Fact term="Profile" value={plan.profile ?? "–"} />
        <Fact term="Agent" value={plan.agent ?? "–"} />
        <Fact term="Steps" value={steps} />
        <Fact
          term="Elapsed"
          value={elapsed === undefined ? "–" : formatDuration(elapsed)}
          testId="plan-elapsed"
        />
        <Fact
          term="Tool calls"
          value={[
            plural(toolCalls.length, "call"),
            failedCalls > 0 ? `${failedCalls} failed` : "",
            pendingCalls > 0 ? `${pendingCalls} running` : "",
            unfinishedCalls > 0 ? `${unfinishedCalls} never finished` : "",
          ]
            .filter(Boolean)
            .join(" · ")}
        />
        {usage.modelCalls > 0 && (
          <>
            <Fact term="Model calls" value={plural(usage.modelCalls, "call")} testId="plan-model-calls" />
            <Fact
              term="Tokens"
              value={`${formatNumber(usage.inputTokens)} in · ${formatNumber(usage.outputTokens)} out`}
              testId="plan-tokens"
            />
            <Fact
              term="Cost"
              value={usage.costUsd === undefined ? "not reported" : formatCost(usage.costUsd)}
              testId="plan-cost"
            />
          </>
        )}
        <Fact term="Events" value={plural(model.eventCount, "event")} testId="plan-events" />
      </dl>
    </section>
  );
}

function Fact({ term, value, testId }: { term: string; value: string; testId?: string }) {
  return (
    <div className="facts__item">
      <dt>{term}</dt>
      <dd data-testid={testId}>{value}</dd>
    </div>
  );
}

/** Reported duration when the run says, else from its first event to its end (or to now while running). */
export function elapsedMs(model: TraceModel, now: number, running: boolean): number | undefined {
  const { plan } = model;
  if (plan.startedAt === undefined) return undefined;
  if (plan.durationMs !== undefined) return plan.durationMs;
  const end = plan.endedAt ?? (running ? Math.max(now, model.lastEventAt ?? now) : model.lastEventAt);
  return end === undefined ? undefined : Math.max(0, end - plan.startedAt);
}
