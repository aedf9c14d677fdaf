import { formatDuration, formatTimeLeft } from "../format.js";
import type { ApprovalState, ApprovalView } from "../trace-model.js";

const LOOK: Record<ApprovalState, { icon: string; word: string; tone: string }> = {
  pending: { icon: "◔", word: "Waiting for a decision", tone: "pending" },
  approved: { icon: "✓", word: "Approved", tone: "success" },
  rejected: { icon: "✕", word: "Rejected", tone: "error" },
  timed_out: { icon: "⊘", word: "Timed out", tone: "error" },
  unfinished: { icon: "◌", word: "Never decided: the run ended first", tone: "muted" },
};

export interface ApprovalsPanelProps {
  readonly approvals: readonly ApprovalView[];
  readonly now: number;
}

export function ApprovalsPanel({ approvals, now }: ApprovalsPanelProps) {
  return (
    <section className="card" aria-labelledby="approvals-heading" data-testid="approvals">
      <h2 id="approvals-heading" className="card__title">
        Approvals
      </h2>
      {approvals.length === 0 ? (
        <p className="muted">No approvals requested.</p>
      ) : (
        <ul className="approvals">
          {approvals.map((approval) => (
            <ApprovalItem key={approval.approvalId} approval={approval} now={now} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ApprovalItem({ approval, now }: { approval: ApprovalView; now: number }) {
  const look = LOOK[approval.state];
  const waited =
    approval.decidedAt !== undefined && approval.requestedAt !== undefined
      ? approval.decidedAt - approval.requestedAt
      : undefined;
  return (
    <li className={`approval approval--${look.tone}`} data-state={approval.state} data-testid="approval">
      <div className="approval__row">
        <span className="approval__tool">{approval.tool ?? "approval"}</span>
        {approval.riskLevel && (
          <span className={`risk risk--${riskTone(approval.riskLevel)}`}>{approval.riskLevel} risk</span>
        )}
      </div>
      <p className={`approval__state tone--${look.tone}`}>
        <span aria-hidden="true">{look.icon}</span> {look.word}
        {waited !== undefined && <span className="muted"> after {formatDuration(waited)}</span>}
      </p>
      {approval.state === "pending" && approval.expiresAt !== undefined && (
        <p className={`approval__deadline ${approval.expiresAt < now ? "tone--error" : "muted"}`}>
          <time dateTime={new Date(approval.expiresAt).toISOString()}>
            {formatTimeLeft(approval.expiresAt, now)}
          </time>
        </p>
      )}
      {approval.reason && <p className="approval__reason">“{approval.reason}”</p>}
    </li>
  );
}

function riskTone(level: string): "low" | "medium" | "high" {
  const normalized = level.toLowerCase();
  if (normalized.includes("high") || normalized.includes("critical")) return "high";
  if (normalized.includes("med")) return "medium";
  return "low";
}
