/**
 * The run index (lib/table-design.ts): a summary item per trace that the emitter keeps as events
 * are stored, and the query that lists recent runs newest first without a Scan.
 *
 * Counts are added once per newly stored event (a redelivered event is a duplicate and adds
 * nothing). The event and its summary update are two writes: if the emitter dies between them, the
 * retried event is a duplicate and the summary stays one event short; it never counts an event
 * twice. In stream mode the fan-out adds a batch's events in one write instead (`recordEvents`);
 * the stream hands a batch over at least once, so a retried batch can count its events twice.
 *
 * Written only when the summary changes: an event that changes nothing the list shows (no goal,
 * status, tool call, error, model call) only moves the run's last-event time, and that is
 * refreshed at most every LAST_EVENT_REFRESH_MS per trace (per emitter container). So the last
 * event time is coarse, late by at most that much plus the spread between containers, which is
 * what `stalled` (minutes without events) needs.
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import {
  keys,
  PARTITION_KEY,
  RUNS_INDEX,
  RUNS_PARTITION_KEY,
  RUNS_SORT_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "../../lib/table-design.js";
import {
  MAX_RUN_GOAL_CHARS,
  type RunStatus,
  type RunSummaryWire,
  TRACE_ID_PATTERN,
  type TraceEvent,
} from "../../protocol/index.js";

export type { RunStatus };

/** One row of the runs list. Times are epoch ms. */
export interface RunSummary {
  readonly traceId: string;
  readonly goal: string | undefined;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly lastEventAt: number;
  readonly toolCalls: number;
  readonly errors: number;
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export interface RunsPage {
  readonly runs: readonly RunSummary[];
  /** Pass back as `after` for the next page; undefined when there are no more within `maxDays`. */
  readonly next: string | undefined;
}

export interface RecentRunsOptions {
  readonly now: number;
  /**
   * The token's `traces` grants: exact trace ids and `prefix*` entries (`*` alone: every trace).
   * Only runs they grant are read back.
   */
  readonly grants: readonly string[];
  readonly limit: number;
  readonly maxDays: number;
  /** A page's `next`. */
  readonly after?: string | undefined;
  /** Keeps only the runs it accepts (status, search); the page is filled from further keys. */
  readonly keep?: ((run: RunSummary) => boolean) | undefined;
}

export interface RunIndex {
  /**
   * Adds a newly stored event to its trace's summary. Resolves to the summary as written, or
   * undefined when the event changed nothing the list shows and no write was made.
   */
  recordEvent(event: TraceEvent, expiresAt: number): Promise<RunSummary | undefined>;
  /**
   * Adds stored events of one trace (ascending seq, at least one) to its summary in one write:
   * the stream fan-out's way, one update per batch instead of one per event. Same rule and result
   * as `recordEvent`.
   */
  recordEvents(events: readonly TraceEvent[], expiresAt: number): Promise<RunSummary | undefined>;
  /** Runs newest first, from the day of `now` back `maxDays` days, that the grants allow. */
  recentRuns(options: RecentRunsOptions): Promise<RunsPage>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Index queries one `recentRuns` call makes at most; the cursor carries on from there. */
const MAX_INDEX_READS = 20;
/** How often an event that changes nothing else refreshes its run's last-event time. */
export const LAST_EVENT_REFRESH_MS = 5_000;
/** Traces whose last write time a container remembers; past this it forgets them all. */
const REMEMBERED_TRACES = 10_000;

/** True when a `traces` grant allows the trace: exact id, or a prefix ending in `*`. */
export function grantAllows(grants: readonly string[], traceId: string): boolean {
  return grants.some((grant) =>
    grant.endsWith("*") ? traceId.startsWith(grant.slice(0, -1)) : grant === traceId,
  );
}

/** True when the event changes what the runs list shows, beyond the last-event time (pure). */
export function changesSummary(event: TraceEvent): boolean {
  return (
    (event.event === "plan_created" && event.metadata.goal !== undefined) ||
    event.event === "plan_completed" ||
    event.event === "plan_failed" ||
    event.event === "tool_call_start" ||
    event.status === "error" ||
    event.event === "llm_call_complete" ||
    event.event === "llm_call_error"
  );
}

/** The summary update for one event (pure): a batch of one. */
export function summaryUpdate(tableName: string, event: TraceEvent, expiresAt: number): UpdateCommandInput {
  return batchSummaryUpdate(tableName, [event], expiresAt);
}

/**
 * A page cursor, as the client holds it: the index sort key of the last run read (`<ISO start>#<trace
 * id>`), or a UTC day (`2026-12-01`) to start at its newest run.
 */
function cursorKey(cursor: string): { day: number; start: Record<string, string> | undefined } | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(cursor)) {
    const day = Date.parse(`${cursor}T00:00:00.000Z`);
    return Number.isFinite(day) ? { day: day / DAY_MS, start: undefined } : undefined;
  }
  const hash = cursor.indexOf("#");
  const startedAt = Date.parse(cursor.slice(0, hash));
  const traceId = cursor.slice(hash + 1);
  if (hash !== 24 || !Number.isFinite(startedAt) || !TRACE_ID_PATTERN.test(traceId)) return undefined;
  if (keys.runsOrder(startedAt, traceId) !== cursor) return undefined;
  return {
    day: Math.floor(startedAt / DAY_MS),
    start: {
      [RUNS_PARTITION_KEY]: keys.runsDay(startedAt),
      [RUNS_SORT_KEY]: cursor,
      [PARTITION_KEY]: keys.trace(traceId),
      [SORT_KEY]: keys.runSummary,
    },
  };
}

/** A cursor `listRuns` cannot use: the client sent something no page returned. */
export class RunsCursorError extends Error {
  override readonly name = "RunsCursorError";
}

/** The summary as the list frames carry it. */
export function toWire(run: RunSummary): RunSummaryWire {
  return {
    trace_id: run.traceId,
    ...(run.goal === undefined ? {} : { goal: run.goal }),
    status: run.status,
    started_at: run.startedAt,
    last_event_at: run.lastEventAt,
    tool_calls: run.toolCalls,
    errors: run.errors,
    model_calls: run.modelCalls,
    input_tokens: run.inputTokens,
    output_tokens: run.outputTokens,
    cost_usd: run.costUsd,
  };
}

/**
 * The summary update for several events of one trace, ascending by seq (pure): the same result as
 * their updates one by one, in one write. Counts add up; the start is the first event's, the last
 * event time and a terminal status the last ones'.
 */
export function batchSummaryUpdate(
  tableName: string,
  events: readonly TraceEvent[],
  expiresAt: number,
): UpdateCommandInput {
  const first = events[0];
  const last = events.at(-1);
  if (!first || !last) throw new Error("batchSummaryUpdate needs at least one event");
  const firstAt = Date.parse(first.timestamp);
  const values: Record<string, unknown> = {
    ":trace": first.trace_id,
    ":first": firstAt,
    ":last": Date.parse(last.timestamp),
    ":day": keys.runsDay(firstAt),
    ":order": keys.runsOrder(firstAt, first.trace_id),
    ":ttl": expiresAt,
  };
  const set = [
    "trace_id = :trace",
    "started_at = if_not_exists(started_at, :first)",
    "#runsPk = if_not_exists(#runsPk, :day)",
    "#runsSk = if_not_exists(#runsSk, :order)",
    "last_event_at = :last",
    "#ttl = :ttl",
  ];
  const terminal = events.findLast(
    (event) => event.event === "plan_completed" || event.event === "plan_failed",
  );
  if (terminal) {
    set.push("#status = :status");
    values[":status"] = terminal.event === "plan_completed" ? "completed" : "failed";
  } else {
    set.push("#status = if_not_exists(#status, :running)");
    values[":running"] = "running";
  }
  const goal = events.findLast(
    (event) => event.event === "plan_created" && event.metadata.goal !== undefined,
  );
  const goalText = goal?.event === "plan_created" ? goal.metadata.goal : undefined;
  if (goalText !== undefined) {
    set.push("goal = :goal");
    // Cut, so a page of runs always fits one frame.
    values[":goal"] = goalText.slice(0, MAX_RUN_GOAL_CHARS);
  }
  const sums = { tool_calls: 0, errors: 0, model_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  const seen = new Set<keyof typeof sums>();
  const addTo = (name: keyof typeof sums, value: number) => {
    sums[name] += value;
    seen.add(name);
  };
  for (const event of events) {
    if (event.event === "tool_call_start") addTo("tool_calls", 1);
    if (event.status === "error") addTo("errors", 1);
    if (event.event === "llm_call_complete" || event.event === "llm_call_error") {
      addTo("model_calls", 1);
      if (event.metadata.input_tokens !== undefined) addTo("input_tokens", event.metadata.input_tokens);
      if (event.metadata.output_tokens !== undefined) addTo("output_tokens", event.metadata.output_tokens);
      if (event.event === "llm_call_complete" && event.metadata.cost_usd !== undefined)
        addTo("cost_usd", event.metadata.cost_usd);
    }
  }
  const add: string[] = [];
  for (const name of seen) {
    add.push(`${name} :${name}`);
    values[`:${name}`] = sums[name];
  }
  return {
    TableName: tableName,
    Key: { [PARTITION_KEY]: keys.trace(first.trace_id), [SORT_KEY]: keys.runSummary },
    UpdateExpression: `SET ${set.join(", ")}${add.length > 0 ? ` ADD ${add.join(", ")}` : ""}`,
    ExpressionAttributeNames: {
      "#runsPk": RUNS_PARTITION_KEY,
      "#runsSk": RUNS_SORT_KEY,
      "#status": "status",
      "#ttl": TTL_ATTRIBUTE,
    },
    ExpressionAttributeValues: values,
    // The writer (emitter, or the stream fan-out) posts the summary as written to the runs watchers.
    ReturnValues: "ALL_NEW",
  };
}

export function dynamoRunIndex(client: DynamoDBDocumentClient, tableName: string): RunIndex {
  /** Event time of each trace's last summary write from this container. */
  const lastWritten = new Map<string, number>();

  const recordEvents: RunIndex["recordEvents"] = async (events, expiresAt) => {
    const last = events.at(-1);
    if (last === undefined) return undefined;
    const at = Date.parse(last.timestamp);
    const previous = lastWritten.get(last.trace_id);
    if (
      !events.some(changesSummary) &&
      previous !== undefined &&
      Math.abs(at - previous) < LAST_EVENT_REFRESH_MS
    ) {
      return undefined;
    }
    const result = await client.send(new UpdateCommand(batchSummaryUpdate(tableName, events, expiresAt)));
    if (lastWritten.size >= REMEMBERED_TRACES) lastWritten.clear();
    lastWritten.set(last.trace_id, at);
    return result.Attributes ? toSummary(result.Attributes) : undefined;
  };

  return {
    recordEvent: (event, expiresAt) => recordEvents([event], expiresAt),
    recordEvents,

    async recentRuns({ now, grants, limit, maxDays, after, keep }) {
      const today = Math.floor(now / DAY_MS);
      let day = today;
      let start: Record<string, string> | undefined;
      if (after !== undefined) {
        const cursor = cursorKey(after);
        if (cursor === undefined || cursor.day > today)
          throw new RunsCursorError("after is not a page cursor");
        day = cursor.day;
        start = cursor.start;
      }
      const found: RunSummary[] = [];
      const terms = grantFilter(grants);
      let next: string | undefined;
      // Bounded: a narrow filter can leave pages empty; stop after this many reads.
      for (let reads = 0; reads < MAX_INDEX_READS && day > today - maxDays && found.length < limit; reads++) {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: RUNS_INDEX,
            KeyConditionExpression: "#runsPk = :day",
            ...(terms ? { FilterExpression: terms.expression } : {}),
            ExpressionAttributeNames: {
              "#runsPk": RUNS_PARTITION_KEY,
              ...(terms ? { "#pk": PARTITION_KEY } : {}),
            },
            ExpressionAttributeValues: { ":day": keys.runsDay(day * DAY_MS), ...terms?.values },
            ScanIndexForward: false,
            // With a filter of its own, read a full page: most keys may be dropped.
            Limit: keep ? limit : limit - found.length,
            ExclusiveStartKey: start,
          }),
        );
        const items = (page.Items ?? []).filter((item) =>
          // Defence in depth: the filter expression already kept only granted traces.
          grantAllows(grants, String(item[PARTITION_KEY]).slice(keys.tracePrefix.length)),
        );
        const summaries = await readSummaries(client, tableName, items);
        let stoppedAt: string | undefined;
        for (const [index, summary] of summaries.entries()) {
          if (summary && (keep === undefined || keep(summary))) found.push(summary);
          if (found.length === limit && index < summaries.length - 1) {
            stoppedAt = String(items[index]?.[RUNS_SORT_KEY]);
            break;
          }
        }
        if (stoppedAt !== undefined) {
          next = stoppedAt;
          break;
        }
        if (page.LastEvaluatedKey) {
          start = page.LastEvaluatedKey as Record<string, string>;
          next = String(start[RUNS_SORT_KEY]);
        } else {
          day--;
          start = undefined;
          next = day > today - maxDays ? new Date(day * DAY_MS).toISOString().slice(0, 10) : undefined;
        }
      }
      if (day <= today - maxDays) next = undefined;
      return { runs: found, next };
    },
  };
}

/** The filter expression that keeps index keys of granted traces; undefined when all are granted. */
function grantFilter(grants: readonly string[]) {
  if (grants.includes("*")) return undefined;
  const values: Record<string, string> = {};
  const expression = grants
    .map((grant, index) => {
      if (grant.endsWith("*")) {
        values[`:g${index}`] = keys.trace(grant.slice(0, -1));
        return `begins_with(#pk, :g${index})`;
      }
      values[`:g${index}`] = keys.trace(grant);
      return `#pk = :g${index}`;
    })
    .join(" OR ");
  // No grants: a condition no key meets, rather than no filter at all.
  if (expression === "") return { expression: "#pk = :none", values: { ":none": "" } };
  return { expression, values };
}

/** The summaries behind index keys, in the keys' order (BatchGet returns them in any order). */
async function readSummaries(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<(RunSummary | undefined)[]> {
  const found = new Map<string, RunSummary>();
  const itemKeys = items.map((item) => ({
    [PARTITION_KEY]: String(item[PARTITION_KEY]),
    [SORT_KEY]: String(item[SORT_KEY]),
  }));
  for (let index = 0; index < itemKeys.length; index += 100) {
    let request: Record<string, string>[] = itemKeys.slice(index, index + 100);
    // Unprocessed keys (throttling) are asked for again, a bounded number of times.
    for (let attempt = 0; request.length > 0 && attempt < 5; attempt++) {
      const result = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: request } } }),
      );
      for (const item of result.Responses?.[tableName] ?? []) {
        const summary = toSummary(item);
        found.set(summary.traceId, summary);
      }
      request = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Record<string, string>[];
    }
  }
  return itemKeys.map((key) => found.get(String(key[PARTITION_KEY]).slice(keys.tracePrefix.length)));
}

function toSummary(item: Record<string, unknown>): RunSummary {
  const number = (value: unknown) => (typeof value === "number" && value >= 0 ? value : 0);
  const integer = (value: unknown) => Math.floor(number(value));
  const status = item.status === "completed" || item.status === "failed" ? item.status : "running";
  return {
    traceId: String(item.trace_id),
    goal: typeof item.goal === "string" ? item.goal.slice(0, MAX_RUN_GOAL_CHARS) : undefined,
    status,
    startedAt: integer(item.started_at),
    lastEventAt: integer(item.last_event_at),
    toolCalls: integer(item.tool_calls),
    errors: integer(item.errors),
    modelCalls: integer(item.model_calls),
    inputTokens: integer(item.input_tokens),
    outputTokens: integer(item.output_tokens),
    costUsd: number(item.cost_usd),
  };
}
