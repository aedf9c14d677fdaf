import { type UseRunsResult, useRuns } from "../client/react.js";
import type { RunsFilter } from "../client/runs-client.js";
import type { ViewerSetup } from "./viewer-config.js";

/**
 * The token scope the runs list asks the token provider for: `*`, "every trace this viewer may
 * see". A provider (or a token in the page URL) that grants less lists less: the server lists only
 * the runs the token's `traces` grants.
 */
export const RUNS_TOKEN_SCOPE = "*";

/** The page's runs list: the client package's `useRuns` with the viewer's URL and token provider. */
export function useViewerRuns(setup: ViewerSetup, stalledAfterMs: number, filter: RunsFilter): UseRunsResult {
  return useRuns({
    url: setup.url,
    getToken: () => setup.getToken(RUNS_TOKEN_SCOPE),
    stalledAfterMs,
    filter,
  });
}
