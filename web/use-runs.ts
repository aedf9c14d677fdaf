import { useEffect, useState, useSyncExternalStore } from "react";
import { RunsClient, type RunsSnapshot } from "../client/runs-client.js";
import type { ViewerSetup } from "./viewer-config.js";

/**
 * The token scope the runs list asks the token provider for: `*`, "every trace this viewer may
 * see". A provider (or a token in the page URL) that grants less lists less: the server lists only
 * the runs the token's `traces` grants.
 */
export const RUNS_TOKEN_SCOPE = "*";

/** A RunsClient for the page's setup, started while mounted, fed to React. */
export function useRuns(
  setup: ViewerSetup,
  stalledAfterMs: number,
): { client: RunsClient; snapshot: RunsSnapshot } {
  const [client] = useState(
    () =>
      new RunsClient({
        url: setup.url,
        getToken: () => setup.getToken(RUNS_TOKEN_SCOPE),
        stalledAfterMs,
      }),
  );
  useEffect(() => {
    client.start();
    return () => client.close();
  }, [client]);
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
  return { client, snapshot };
}
