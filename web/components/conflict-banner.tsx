import type { TraceConflicts } from "../../client/trace-stream-client.js";
import { describeConflicts } from "../conflict-view.js";

export interface ConflictBannerProps {
  readonly conflicts: TraceConflicts | null;
}

/** Loud and first on the page: what the viewer shows is not the run the user just started. */
export function ConflictBanner({ conflicts }: ConflictBannerProps) {
  if (conflicts === null) return null;
  const view = describeConflicts(conflicts);
  return (
    <div className="notice notice--error conflict-banner" role="alert" data-testid="conflicts">
      <strong>
        <span aria-hidden="true">⚠</span> {view.title}
      </strong>
      <p className="conflict-banner__detail">{view.detail}</p>
    </div>
  );
}
