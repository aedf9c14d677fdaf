import { keys } from "../../lib/table-design.js";
import {
  describeIssues,
  type ErrorCode,
  errorFrame,
  ListRunsMessage,
  MAX_FRAME_BYTES,
  RESUME_WINDOW_MS,
  RUNS_PAGE_DEFAULT,
  RUNS_REQUESTS_PER_WINDOW,
  runsFrame,
  utf8Bytes,
} from "../../protocol/index.js";
import type { ConnectionGateway } from "../shared/connection-gateway.js";
import { type RunIndex, type RunSummary, RunsCursorError, toWire } from "../shared/run-index.js";
import type { RunsWatchers } from "../shared/runs-watchers.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";
import type { RouteResult } from "../shared/websocket-event.js";

export interface ListRunsDeps {
  readonly runIndex: Pick<RunIndex, "recentRuns">;
  readonly runsWatchers: Pick<RunsWatchers, "grantsOf" | "takeRequest">;
  readonly gateway: Pick<ConnectionGateway, "post">;
  readonly log: Log;
  readonly metrics: MetricsPort;
  readonly now: () => number;
  /** How far back the list reaches: the run summaries' retention. */
  readonly maxDays: number;
  /** Requests one connection may make per window. @default RUNS_REQUESTS_PER_WINDOW per RESUME_WINDOW_MS */
  readonly rate?: { readonly perWindow: number; readonly windowMs: number } | undefined;
}

export interface ListRunsRequest {
  readonly connectionId: string;
  readonly body: string;
}

/** Which runs a `listRuns` request keeps, beyond what the token grants (pure). */
export function runFilter(
  request: Pick<ListRunsMessage, "status" | "search" | "stalledAfterMs">,
  now: number,
): ((run: RunSummary) => boolean) | undefined {
  const { status, search, stalledAfterMs } = request;
  const words = search?.trim().toLowerCase();
  if (status === undefined && !words) return undefined;
  const stalled = (run: RunSummary) =>
    run.status === "running" && stalledAfterMs !== undefined && now - run.lastEventAt >= stalledAfterMs;
  return (run) => {
    if (status === "stalled" && !stalled(run)) return false;
    if (status === "running" && (run.status !== "running" || stalled(run))) return false;
    if ((status === "completed" || status === "failed") && run.status !== status) return false;
    if (!words) return true;
    return run.traceId.startsWith(search?.trim() ?? "") || (run.goal?.toLowerCase().includes(words) ?? false);
  };
}

/**
 * `listRuns`, on a runs-list connection: one page of the runs the connection's token grants,
 * newest first, as a `runs` frame through @connections (the page's frames and the emitter's live
 * `run` frames share one ordered channel). Bad input gets an error frame; each connection has a
 * request budget per window, and one page reads a bounded number of index pages.
 */
export function makeListRuns(deps: ListRunsDeps) {
  const rate = deps.rate ?? { perWindow: RUNS_REQUESTS_PER_WINDOW, windowMs: RESUME_WINDOW_MS };
  return async function listRuns({ connectionId, body }: ListRunsRequest): Promise<RouteResult> {
    const ok: RouteResult = { statusCode: 200 };
    const refuse = async (code: ErrorCode, message: string, retryAfterMs?: number) => {
      await deps.gateway.post(connectionId, errorFrame(code, message, retryAfterMs));
      return ok;
    };
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return refuse("invalid_json", "listRuns must be JSON");
    }
    const parsed = ListRunsMessage.safeParse(json);
    if (!parsed.success) return refuse("invalid_message", `listRuns: ${describeIssues(parsed.error)}`);
    const request = parsed.data;

    const grants = await deps.runsWatchers.grantsOf(connectionId);
    if (grants === undefined) {
      return refuse("not_subscribed", "this connection does not watch the runs list; connect with runs=1");
    }
    const now = deps.now();
    const allowed = await deps.runsWatchers.takeRequest(connectionId, { now, ...rate });
    if (allowed !== "allowed") {
      deps.metrics.count("RunsRateLimited");
      return refuse(
        "rate_limited",
        `at most ${rate.perWindow} listRuns requests per ${rate.windowMs / 1000} s`,
        allowed.retryAfterMs,
      );
    }
    let page: Awaited<ReturnType<RunIndex["recentRuns"]>>;
    try {
      page = await deps.runIndex.recentRuns({
        now,
        grants,
        limit: request.limit ?? RUNS_PAGE_DEFAULT,
        maxDays: deps.maxDays,
        after: request.after,
        keep: runFilter(request, now),
      });
    } catch (error) {
      if (error instanceof RunsCursorError) return refuse("invalid_message", `listRuns: ${error.message}`);
      throw error;
    }
    await deps.gateway.post(connectionId, pageFrame(page.runs, page.next));
    deps.metrics.count("RunsListed", page.runs.length);
    deps.log.debug("runs listed", { connectionId, runs: page.runs.length, more: page.next !== undefined });
    return ok;
  };
}

/** A page frame stays this far under API Gateway's 128 KiB message limit. */
const FRAME_BUDGET_BYTES = MAX_FRAME_BYTES - 4096;

/**
 * The `runs` frame of a page, cut to fit one WebSocket message: goals full of characters JSON
 * escapes can make 100 runs too large. Runs cut off start the next page (a run's index sort key is
 * its start time and trace id, so the cursor is known from the last run kept).
 */
export function pageFrame(runs: readonly RunSummary[], next: string | undefined): string {
  let kept = runs.length;
  let frame = runsFrame(runs.map(toWire), next);
  while (utf8Bytes(frame) > FRAME_BUDGET_BYTES && kept > 1) {
    kept = Math.max(1, Math.floor(kept / 2));
    const last = runs[kept - 1] as RunSummary;
    frame = runsFrame(runs.slice(0, kept).map(toWire), keys.runsOrder(last.startedAt, last.traceId));
  }
  return frame;
}
