import type { TraceStreamState } from "../../client/subscriber-state.js";
import { describeConnection } from "../connection-view.js";

export interface ConnectionStatusProps {
  readonly state: TraceStreamState;
  readonly onRetry: () => void;
  /** Replaces an empty detail: what the page knows beyond the connection (e.g. nothing stored). */
  readonly note?: string | undefined;
}

/** The connection state as a pill with an icon and words; announced politely as it changes. */
export function ConnectionStatus({ state, onRetry, note }: ConnectionStatusProps) {
  const described = describeConnection(state);
  const view = described.detail === "" && note ? { ...described, detail: note } : described;
  return (
    <div className={`connection connection--${view.tone}`} data-connection={view.kind}>
      <p className="connection__status" role="status" aria-live="polite" aria-atomic="true">
        <span className="connection__icon" aria-hidden="true">
          {view.icon}
        </span>
        <span className="connection__label" data-testid="connection-label">
          {view.label}
        </span>
        {view.detail && (
          <span className="connection__detail" data-testid="connection-detail">
            {view.detail}
          </span>
        )}
      </p>
      {view.canRetry && (
        <button type="button" className="button button--small" onClick={onRetry}>
          {view.kind === "reconnecting" ? "Retry now" : "Reconnect"}
        </button>
      )}
    </div>
  );
}
