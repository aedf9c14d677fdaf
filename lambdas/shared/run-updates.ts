/**
 * Live updates of the runs list: a changed run summary posted to the connections watching the
 * list whose grants allow its trace. The function that writes a summary (the emitter, or the
 * stream fan-out in stream mode) posts it.
 */
import { runFrame } from "../../protocol/index.js";
import { settleWithLimit } from "../emitter/bounded-pool.js";
import { CONNECT_GRACE_MS, type ConnectionGateway } from "./connection-gateway.js";
import { grantAllows, type RunSummary, toWire } from "./run-index.js";
import type { RunsWatcher, RunsWatchers } from "./runs-watchers.js";
import type { Log, MetricsPort } from "./telemetry.js";

export interface RunUpdatesDeps {
  readonly runsWatchers: Pick<RunsWatchers, "list" | "prune">;
  /**
   * How long a container reuses the watchers it read (one query per period, not per event): a
   * watcher that connected since misses updates for at most this long.
   */
  readonly cacheMs: number;
  /** Watchers read at most (connect caps them at this many). */
  readonly maxWatchers: number;
  readonly gateway: Pick<ConnectionGateway, "post">;
  /** Maximum @connections posts in flight. */
  readonly concurrency: number;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
}

export function makeRunUpdates(deps: RunUpdatesDeps) {
  let watchersRead: { at: number; watchers: RunsWatcher[] } | undefined;
  async function runsWatchers(): Promise<RunsWatcher[]> {
    const now = deps.now();
    if (watchersRead === undefined || now - watchersRead.at >= deps.cacheMs) {
      watchersRead = { at: now, watchers: await deps.runsWatchers.list(deps.maxWatchers) };
    }
    return watchersRead.watchers;
  }

  /**
   * Posts a changed run summary to the runs watchers whose grants allow the trace. Like an event's
   * fan-out, failures are counted and logged, never thrown: the list reads the summary on its next
   * page anyway.
   */
  return async function postRun(summary: RunSummary): Promise<void> {
    let watchers: RunsWatcher[];
    try {
      watchers = (await runsWatchers()).filter((watcher) => grantAllows(watcher.grants, summary.traceId));
    } catch (error) {
      deps.metrics.count("RunUpdateFailures");
      deps.log.warn("runs watchers not read", { traceId: summary.traceId, error: String(error) });
      return;
    }
    if (watchers.length === 0) return;
    const frame = runFrame(toWire(summary));
    const connectedBefore = deps.now() - CONNECT_GRACE_MS;
    const failures = await settleWithLimit(watchers, deps.concurrency, async ({ connectionId }) => {
      if ((await deps.gateway.post(connectionId, frame)) === "sent") return;
      if (await deps.runsWatchers.prune(connectionId, connectedBefore)) {
        deps.metrics.count("StaleConnectionsPruned");
        if (watchersRead) {
          watchersRead = {
            ...watchersRead,
            watchers: watchersRead.watchers.filter((watcher) => watcher.connectionId !== connectionId),
          };
        }
      }
    });
    deps.metrics.count("RunUpdatesDelivered", watchers.length - failures.length);
    if (failures.length > 0) {
      deps.metrics.count("RunUpdateFailures", failures.length);
      deps.log.warn("run update not delivered to every watcher", {
        traceId: summary.traceId,
        failed: failures.length,
        error: String(failures[0]?.reason),
      });
    }
  };
}
