/**
 * The run index (lib/table-design.ts): a summary item per trace that the emitter keeps as events
 * are stored, and the query that lists recent runs newest first without a Scan.
 *
 * Counts are added once per newly stored event (a redelivered event is a duplicate and adds
 * nothing). The event and its summary update are two writes: if the emitter dies between them, the
 * retried event is a duplicate and the summary stays one event short; it never counts an event
 * twice. In stream mode the fan-out adds a batch's events in one write instead (`recordEvents`);
 * the stream hands a batch over at least once, so a retried batch can count its events twice.
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
import type { TraceEvent } from "../../protocol/index.js";

export type RunStatus = "running" | "completed" | "failed";

/** One row of the runs list. Times are epoch ms. */
export interface RunSummary {
  readonly traceId: string;
  readonly goal: string | undefined;
  readonly status: RunStatus;
  readonly startedAt: number;
  readonly lastEventAt: number;
  readonly eventCount: number;
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
  readonly next: RunsCursor | undefined;
}

/** Where a page stopped: the day partition and the last index key read in it. */
export interface RunsCursor {
  readonly day: number;
  readonly key: Record<string, string> | undefined;
}

export interface RunIndex {
  /** Adds a newly stored event to its trace's summary. */
  recordEvent(event: TraceEvent, expiresAt: number): Promise<void>;
  /**
   * Adds stored events of one trace (ascending seq, at least one) to its summary in one write:
   * the stream fan-out's way, one update per batch instead of one per event.
   */
  recordEvents(events: readonly TraceEvent[], expiresAt: number): Promise<void>;
  /**
   * Runs newest first, from the day of `now` back `maxDays` days, of traces whose id starts with
   * one of `prefixes` (`""` for all), at most `limit` per page.
   */
  recentRuns(options: {
    now: number;
    prefixes: readonly string[];
    limit: number;
    maxDays: number;
    after?: RunsCursor | undefined;
  }): Promise<RunsPage>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Index queries one `recentRuns` call makes at most; the cursor carries on from there. */
const MAX_INDEX_READS = 20;

/** The summary update for one event (pure). */
export function summaryUpdate(tableName: string, event: TraceEvent, expiresAt: number): UpdateCommandInput {
  const at = Date.parse(event.timestamp);
  const set = [
    "trace_id = :trace",
    "started_at = if_not_exists(started_at, :at)",
    `#runsPk = if_not_exists(#runsPk, :day)`,
    `#runsSk = if_not_exists(#runsSk, :order)`,
    "last_event_at = :at",
    "#ttl = :ttl",
  ];
  const add = ["event_count :one"];
  const values: Record<string, unknown> = {
    ":trace": event.trace_id,
    ":at": at,
    ":day": keys.runsDay(at),
    ":order": keys.runsOrder(at, event.trace_id),
    ":ttl": expiresAt,
    ":one": 1,
  };
  if (event.event === "plan_completed" || event.event === "plan_failed") {
    set.push("#status = :status");
    values[":status"] = event.event === "plan_completed" ? "completed" : "failed";
  } else {
    set.push("#status = if_not_exists(#status, :running)");
    values[":running"] = "running";
  }
  if (event.event === "plan_created" && event.metadata.goal !== undefined) {
    set.push("goal = :goal");
    values[":goal"] = event.metadata.goal;
  }
  if (event.event === "tool_call_start") add.push("tool_calls :one");
  if (event.status === "error") add.push("errors :one");
  if (event.event === "llm_call_complete" || event.event === "llm_call_error") {
    add.push("model_calls :one");
    const { input_tokens: input, output_tokens: output } = event.metadata;
    if (input !== undefined) {
      add.push("input_tokens :in");
      values[":in"] = input;
    }
    if (output !== undefined) {
      add.push("output_tokens :out");
      values[":out"] = output;
    }
    if (event.event === "llm_call_complete" && event.metadata.cost_usd !== undefined) {
      add.push("cost_usd :cost");
      values[":cost"] = event.metadata.cost_usd;
    }
  }
  return {
    TableName: tableName,
    Key: { [PARTITION_KEY]: keys.trace(event.trace_id), [SORT_KEY]: keys.runSummary },
    UpdateExpression: `SET ${set.join(", ")} ADD ${add.join(", ")}`,
    ExpressionAttributeNames: {
      "#runsPk": RUNS_PARTITION_KEY,
      "#runsSk": RUNS_SORT_KEY,
      "#status": "status",
      "#ttl": TTL_ATTRIBUTE,
    },
    ExpressionAttributeValues: values,
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
    ":count": events.length,
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
  if (goal?.event === "plan_created") {
    set.push("goal = :goal");
    values[":goal"] = goal.metadata.goal;
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
  const add = ["event_count :count"];
  for (const name of seen) {
    add.push(`${name} :${name}`);
    values[`:${name}`] = sums[name];
  }
  return {
    TableName: tableName,
    Key: { [PARTITION_KEY]: keys.trace(first.trace_id), [SORT_KEY]: keys.runSummary },
    UpdateExpression: `SET ${set.join(", ")} ADD ${add.join(", ")}`,
    ExpressionAttributeNames: {
      "#runsPk": RUNS_PARTITION_KEY,
      "#runsSk": RUNS_SORT_KEY,
      "#status": "status",
      "#ttl": TTL_ATTRIBUTE,
    },
    ExpressionAttributeValues: values,
  };
}

export function dynamoRunIndex(client: DynamoDBDocumentClient, tableName: string): RunIndex {
  return {
    async recordEvent(event, expiresAt) {
      await client.send(new UpdateCommand(summaryUpdate(tableName, event, expiresAt)));
    },

    async recordEvents(events, expiresAt) {
      await client.send(new UpdateCommand(batchSummaryUpdate(tableName, events, expiresAt)));
    },

    async recentRuns({ now, prefixes, limit, maxDays, after }) {
      const today = Math.floor(now / DAY_MS);
      const keysFound: Record<string, string>[] = [];
      let day = after?.day ?? today;
      let start = after?.key;
      let next: RunsCursor | undefined;
      const filter = prefixes.includes("")
        ? undefined
        : prefixes.map((_, index) => `begins_with(#pk, :p${index})`).join(" OR ");
      const filterValues = Object.fromEntries(
        prefixes.map((prefix, index) => [`:p${index}`, keys.trace(prefix)]),
      );
      // Bounded: a narrow prefix filter can leave pages empty; stop after this many reads.
      for (
        let reads = 0;
        reads < MAX_INDEX_READS && day > today - maxDays && keysFound.length < limit;
        reads++
      ) {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: RUNS_INDEX,
            KeyConditionExpression: "#runsPk = :day",
            ...(filter ? { FilterExpression: filter } : {}),
            ExpressionAttributeNames: {
              "#runsPk": RUNS_PARTITION_KEY,
              ...(filter ? { "#pk": PARTITION_KEY } : {}),
            },
            ExpressionAttributeValues: {
              ":day": keys.runsDay(day * DAY_MS),
              ...(filter ? filterValues : {}),
            },
            ScanIndexForward: false,
            Limit: limit - keysFound.length,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          keysFound.push({
            [PARTITION_KEY]: String(item[PARTITION_KEY]),
            [SORT_KEY]: String(item[SORT_KEY]),
          });
        }
        if (page.LastEvaluatedKey) {
          start = page.LastEvaluatedKey as Record<string, string>;
          next = { day, key: start };
        } else {
          day--;
          start = undefined;
          next = day > today - maxDays ? { day, key: undefined } : undefined;
        }
      }
      if (day <= today - maxDays) next = undefined;
      else next ??= { day, key: start };
      return { runs: await readSummaries(client, tableName, keysFound), next };
    },
  };
}

/** The summaries behind index keys, in the keys' order (BatchGet returns them in any order). */
async function readSummaries(
  client: DynamoDBDocumentClient,
  tableName: string,
  itemKeys: readonly Record<string, string>[],
): Promise<RunSummary[]> {
  const found = new Map<string, RunSummary>();
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
  return itemKeys.flatMap((key) => {
    const summary = found.get(String(key[PARTITION_KEY]).slice(keys.tracePrefix.length));
    return summary ? [summary] : [];
  });
}

function toSummary(item: Record<string, unknown>): RunSummary {
  const number = (value: unknown) => (typeof value === "number" ? value : 0);
  const status = item.status === "completed" || item.status === "failed" ? item.status : "running";
  return {
    traceId: String(item.trace_id),
    goal: typeof item.goal === "string" ? item.goal : undefined,
    status,
    startedAt: number(item.started_at),
    lastEventAt: number(item.last_event_at),
    eventCount: number(item.event_count),
    toolCalls: number(item.tool_calls),
    errors: number(item.errors),
    modelCalls: number(item.model_calls),
    inputTokens: number(item.input_tokens),
    outputTokens: number(item.output_tokens),
    costUsd: number(item.cost_usd),
  };
}
