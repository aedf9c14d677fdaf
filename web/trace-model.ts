/**
 * The viewer's picture of one run, built from its TraceEvents (pure: no clock, no DOM, no I/O).
 *
 * The model is a function of the set of events folded in, never of the order they arrived: it is
 * always the fold of those events in seq order. `applyEvents(model, events)` is incremental: events
 * already folded are ignored (the client's window hands the same events again), events after
 * `model.lastSeq` are folded forward, and a late event (a seq given up as missing that turned up
 * after later ones) makes the model fold its retained events again with the late one in its place.
 * Only the parts an event touches are copied, once per call, so a run of 10,000 events streamed in
 * small batches costs about as much as one pass over them.
 */
import {
  type EventStatus,
  isKnownEvent,
  type ReceivedTraceEvent,
  type TraceEvent,
} from "../protocol/trace-event.js";

/**
 * `unfinished`: the run ended (plan_completed or plan_failed) while the call had no end event. It
 * never finished as far as anyone can know; it is not running.
 */
export type CallState = "pending" | "success" | "error" | "unfinished";

/** Tool calls and model calls share one timeline; `kind` tells them apart. */
export type CallKind = "tool" | "model";

export interface ModelUsage {
  readonly inputTokens: number | undefined;
  readonly outputTokens: number | undefined;
  readonly cacheReadTokens: number | undefined;
  readonly costUsd: number | undefined;
  readonly finishReason: string | undefined;
}

/** What a call's end event says, tool or model. */
interface CallEnd {
  readonly kind: "tool" | "model";
  readonly tool: string | undefined;
  readonly provider?: string | undefined;
  readonly usage?: ModelUsage | undefined;
  readonly failed: boolean;
  /** The duration the producer reported, if any. */
  readonly reported: number | undefined;
  readonly error: string | undefined;
  readonly errorType: string | undefined;
}

export interface ToolCallView {
  /**
   * The producer's `call_id` (`llm:` first for model calls, whose ids are their own namespace), or
   * `seq:N` of the start event when it sent none.
   */
  readonly key: string;
  readonly kind: CallKind;
  /** The tool's name, or the model's for a model call. */
  readonly tool: string;
  /** Model calls: provider (gen_ai.provider.name). */
  readonly provider: string | undefined;
  /** Model calls: tokens, cost and finish reason of the end event. */
  readonly usage: ModelUsage | undefined;
  /** The event's `span_id` (the start's, else the end's), for the span tree. */
  readonly spanId: string | undefined;
  /** The enclosing span (`parent_id`), for the span tree. */
  readonly parentId: string | undefined;
  readonly domain: string | undefined;
  readonly sideEffectClass: string | undefined;
  readonly state: CallState;
  /** Seq of `tool_call_start`; undefined when only the end was seen (the start is missing). */
  readonly startSeq: number | undefined;
  readonly endSeq: number | undefined;
  /** Epoch ms of the start (derived from the end and `duration_ms` when the start is missing). */
  readonly startedAt: number;
  readonly endedAt: number | undefined;
  /** `duration_ms` of the end event, else the difference of the timestamps. */
  readonly durationMs: number | undefined;
  readonly error: string | undefined;
  readonly errorType: string | undefined;
}

export type BudgetState = "ok" | "warning" | "exceeded";

export interface BudgetView {
  readonly budgetType: string;
  readonly used: number | undefined;
  readonly limit: number | undefined;
  /** 0–1, from the event or used/limit. */
  readonly utilization: number | undefined;
  readonly state: BudgetState;
  /** Where the limit was hit (`budget_exceeded`). */
  readonly domain: string | undefined;
  readonly tool: string | undefined;
  readonly lastSeq: number | undefined;
}

/** `unfinished`: the run ended with no decision and no timeout. */
export type ApprovalState = "pending" | "approved" | "rejected" | "timed_out" | "unfinished";

export interface ApprovalView {
  readonly approvalId: string;
  readonly tool: string | undefined;
  readonly riskLevel: string | undefined;
  /** Epoch ms of `expires_at`. */
  readonly expiresAt: number | undefined;
  readonly requestedAt: number | undefined;
  readonly requestSeq: number | undefined;
  readonly state: ApprovalState;
  readonly reason: string | undefined;
  readonly decidedAt: number | undefined;
  readonly decisionSeq: number | undefined;
}

export type PlanOutcome = "running" | "completed" | "failed";

export interface PlanView {
  readonly goal: string | undefined;
  readonly profile: string | undefined;
  readonly steps: number | undefined;
  readonly stepsCompleted: number | undefined;
  /** The agent of the latest `route_decision`. */
  readonly agent: string | undefined;
  /** Epoch ms of `plan_created` (else of the first event seen). */
  readonly startedAt: number | undefined;
  readonly endedAt: number | undefined;
  /** `duration_ms` of `plan_completed`, when it says. */
  readonly durationMs: number | undefined;
  readonly outcome: PlanOutcome;
  readonly error: string | undefined;
  readonly errorType: string | undefined;
}

/** An event worth a person's attention: anything with status `error`, and exceeded budgets. */
export interface ProblemView {
  readonly seq: number;
  readonly event: TraceEvent["event"];
  readonly at: number;
  readonly title: string;
  readonly detail: string | undefined;
}

/** A span no call stands for (an agent, a step): named by the first event that carries it. */
export interface SpanView {
  readonly spanId: string;
  readonly parentId: string | undefined;
  readonly label: string;
  readonly seq: number;
  readonly at: number;
}

/** Run totals of the model calls' end events; undefined parts were never reported. */
export interface UsageTotals {
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  /** Sum of `cost_usd`; undefined when no call reported a cost. */
  readonly costUsd: number | undefined;
}

export interface TraceModel {
  /** Highest seq folded in; -1 for none. */
  readonly lastSeq: number;
  readonly eventCount: number;
  readonly statusCounts: Readonly<Record<EventStatus, number>>;
  readonly firstEventAt: number | undefined;
  readonly lastEventAt: number | undefined;
  readonly plan: PlanView;
  /** Tool and model calls, in order of their first event. */
  readonly toolCalls: readonly ToolCallView[];
  readonly usage: UsageTotals;
  /** Spans of events other than calls (agents, steps), in order of first seq; see `SpanView`. */
  readonly spans: readonly SpanView[];
  /**
   * One per budget type, in order of first mention; a budget no warning spoke for yet is fed by
   * the model calls' tokens or cost (see `withUsage`).
   */
  readonly budgets: readonly BudgetView[];
  /** The budgets as the events reported them, before model-call usage; the fold's input. */
  readonly reportedBudgets: readonly BudgetView[];
  /** In order of request. */
  readonly approvals: readonly ApprovalView[];
  readonly problems: readonly ProblemView[];
  /** Lookup tables for the incremental fold; not for display (see `TraceModelIndex`). */
  readonly index: TraceModelIndex;
  /** What the model was folded from, to fold again when a late event arrives; not for display. */
  readonly log: FoldLog;
}

/** An inclusive range of seqs. */
export interface SeqSpan {
  readonly from: number;
  readonly to: number;
}

/**
 * The events behind a model. `checkpoint` is the fold of every event before `events` (the log keeps
 * at most `MAX_LOG_EVENTS` events; older ones live on only in the checkpoint, so memory stays
 * bounded). `events` is shared between successive models like the index maps: a model trusts only
 * its first `length` entries. `seqs` holds every seq ever folded in, checkpoint included.
 */
export interface FoldLog {
  readonly checkpoint: TraceModel | null;
  readonly events: readonly ReceivedTraceEvent[];
  readonly length: number;
  readonly seqs: readonly SeqSpan[];
}

/**
 * Events kept for folding again; past this the older half moves into the checkpoint. A late event
 * older than the checkpoint (more than ~10,000 events late) is folded in after it, not in place.
 */
export const MAX_LOG_EVENTS = 20_000;

const EMPTY_LOG: FoldLog = Object.freeze({
  checkpoint: null,
  events: Object.freeze([]),
  length: 0,
  seqs: Object.freeze([]),
});

/**
 * key -> position of the item in its list. Entries are only ever added, each at the next position,
 * so successive models share one Map (copying it per event would make streaming O(n²)): a model
 * only trusts positions below its list's length. A fold from an older model (a branch) copies the
 * entries it may trust before adding its own.
 */
export interface TraceModelIndex {
  /** Tool call key -> position in `toolCalls`. */
  readonly calls: ReadonlyMap<string, number>;
  /** Approval id -> position in `approvals`. */
  readonly approvals: ReadonlyMap<string, number>;
  /** Budget type -> position in `budgets`. */
  readonly budgets: ReadonlyMap<string, number>;
}

const EMPTY_PLAN: PlanView = Object.freeze({
  goal: undefined,
  profile: undefined,
  steps: undefined,
  stepsCompleted: undefined,
  agent: undefined,
  startedAt: undefined,
  endedAt: undefined,
  durationMs: undefined,
  outcome: "running",
  error: undefined,
  errorType: undefined,
});

export const EMPTY_TRACE_MODEL: TraceModel = Object.freeze({
  lastSeq: -1,
  eventCount: 0,
  statusCounts: Object.freeze({ pending: 0, success: 0, error: 0, warning: 0 }),
  firstEventAt: undefined,
  lastEventAt: undefined,
  plan: EMPTY_PLAN,
  toolCalls: Object.freeze([]),
  spans: Object.freeze([]),
  usage: Object.freeze({
    modelCalls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    costUsd: undefined,
  }),
  budgets: Object.freeze([]),
  reportedBudgets: Object.freeze([]),
  approvals: Object.freeze([]),
  problems: Object.freeze([]),
  index: Object.freeze({ calls: new Map(), approvals: new Map(), budgets: new Map() }),
  log: EMPTY_LOG,
});

/** The budget type used when an event names none (and for a plain-number `total_budget`). */
export const DEFAULT_BUDGET_TYPE = "total";

/**
 * Folds `events` (ascending seq, each seq once; gaps allowed) into `model`. Returns `model` itself
 * when no event is new, so React can skip work by identity.
 */
export function applyEvents(model: TraceModel, events: readonly ReceivedTraceEvent[]): TraceModel {
  const start = firstNewIndex(events, model.lastSeq);
  const late = lateEvents(model, events, start);
  if (late.length > 0) return refold(model, late, events.slice(start));
  if (start >= events.length) return model;
  return fold(model, events, start);
}

/** Builds a model from scratch. */
export function buildTraceModel(events: readonly ReceivedTraceEvent[]): TraceModel {
  return applyEvents(EMPTY_TRACE_MODEL, events);
}

/** Folds `events[start..]` (all after `model.lastSeq`, ascending) forward, recording them in the log. */
function fold(model: TraceModel, events: readonly ReceivedTraceEvent[], start: number): TraceModel {
  const draft = new Draft(model);
  const log = new LogDraft(model.log);
  for (let i = start; i < events.length; i++) {
    const event = events[i] as ReceivedTraceEvent;
    if (event.seq <= draft.lastSeq) continue;
    draft.apply(event);
    log.append(event);
  }
  return compact(draft.finish(log.finish()));
}

/**
 * The events of `events[..start)` (all at or below `model.lastSeq`) that the model has not folded.
 * The window holds each seq once, so a count per range finds out whether there are any cheaply.
 */
function lateEvents(
  model: TraceModel,
  events: readonly ReceivedTraceEvent[],
  start: number,
): ReceivedTraceEvent[] {
  const first = events[0];
  if (first === undefined || start === 0) return [];
  const { seqs } = model.log;
  if (countInSpans(seqs, first.seq, model.lastSeq) >= start) return [];
  const late: ReceivedTraceEvent[] = [];
  for (let i = 0; i < start; i++) {
    const event = events[i] as ReceivedTraceEvent;
    if (!spansInclude(seqs, event.seq)) late.push(event);
  }
  return late;
}

/**
 * Folds the log again with the late events in their seq places, then the new ones. Late events
 * older than the checkpoint are folded into the checkpoint first (after its own events).
 */
function refold(
  model: TraceModel,
  late: readonly ReceivedTraceEvent[],
  fresh: readonly ReceivedTraceEvent[],
): TraceModel {
  const { log } = model;
  let checkpoint = log.checkpoint ?? EMPTY_TRACE_MODEL;
  const beforeCheckpoint = late.filter((event) => event.seq <= checkpoint.lastSeq);
  if (beforeCheckpoint.length > 0) {
    const draft = new Draft(checkpoint);
    for (const event of beforeCheckpoint) draft.apply(event);
    checkpoint = draft.finish(EMPTY_LOG);
  }
  const retained = log.events.slice(0, log.length);
  const merged = mergeBySeq(
    retained,
    late.filter((event) => event.seq > checkpoint.lastSeq),
  );
  const draft = new Draft(checkpoint);
  const events = [...merged, ...fresh.filter((event) => event.seq > model.lastSeq)];
  for (const event of events) draft.apply(event);
  let seqs = log.seqs;
  for (const event of [...late, ...fresh]) seqs = addToSpans(seqs, event.seq);
  return compact(
    draft.finish({
      checkpoint: log.checkpoint === null && beforeCheckpoint.length === 0 ? null : checkpoint,
      events,
      length: events.length,
      seqs,
    }),
  );
}

/** Moves the older half of a long log into the checkpoint (amortized O(1) per event). */
function compact(model: TraceModel): TraceModel {
  const { log } = model;
  if (log.length <= MAX_LOG_EVENTS) return model;
  const half = log.length >>> 1;
  const draft = new Draft(log.checkpoint ?? EMPTY_TRACE_MODEL);
  for (let i = 0; i < half; i++) draft.apply(log.events[i] as ReceivedTraceEvent);
  const events = log.events.slice(half, log.length);
  return {
    ...model,
    log: { checkpoint: draft.finish(EMPTY_LOG), events, length: events.length, seqs: log.seqs },
  };
}

function mergeBySeq(
  a: readonly ReceivedTraceEvent[],
  b: readonly ReceivedTraceEvent[],
): ReceivedTraceEvent[] {
  const sortedB = [...b].sort((x, y) => x.seq - y.seq);
  const merged: ReceivedTraceEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < sortedB.length) {
    const x = a[i];
    const y = sortedB[j];
    if (y === undefined || (x !== undefined && x.seq < y.seq)) {
      merged.push(x as ReceivedTraceEvent);
      i++;
    } else {
      if (x !== undefined && x.seq === y.seq) i++;
      merged.push(y);
      j++;
    }
  }
  return merged;
}

/** The log of one fold: appends to the shared array when this fold extends the newest model. */
class LogDraft {
  #events: ReceivedTraceEvent[];
  #length: number;
  #seqs: SeqSpan[];
  readonly #base: FoldLog;

  constructor(base: FoldLog) {
    this.#base = base;
    this.#events = base.events as ReceivedTraceEvent[];
    this.#length = base.length;
    this.#seqs = [...base.seqs];
  }

  append(event: ReceivedTraceEvent): void {
    if (this.#events.length !== this.#length || Object.isFrozen(this.#events)) {
      // Another fold already extended the shared array (this one branches from an older model).
      this.#events = this.#events.slice(0, this.#length);
    }
    this.#events.push(event);
    this.#length++;
    const last = this.#seqs.at(-1);
    if (last !== undefined && last.to + 1 === event.seq)
      this.#seqs[this.#seqs.length - 1] = { ...last, to: event.seq };
    else this.#seqs = [...addToSpans(this.#seqs, event.seq)];
  }

  finish(): FoldLog {
    return {
      checkpoint: this.#base.checkpoint,
      events: this.#events,
      length: this.#length,
      seqs: this.#seqs,
    };
  }
}

/** Adds `seq` to sorted, disjoint, non-adjacent spans. */
function addToSpans(spans: readonly SeqSpan[], seq: number): readonly SeqSpan[] {
  const last = spans.at(-1);
  if (last === undefined || seq > last.to + 1) return [...spans, { from: seq, to: seq }];
  if (seq === last.to + 1) return [...spans.slice(0, -1), { from: last.from, to: seq }];
  if (spansInclude(spans, seq)) return spans;
  const result: SeqSpan[] = [];
  let placed = false;
  for (const span of spans) {
    if (!placed && seq < span.from) {
      result.push({ from: seq, to: seq });
      placed = true;
    }
    result.push(span);
  }
  if (!placed) result.push({ from: seq, to: seq });
  // Join neighbours that now touch.
  const joined: SeqSpan[] = [];
  for (const span of result) {
    const previous = joined.at(-1);
    if (previous !== undefined && previous.to + 1 >= span.from) {
      joined[joined.length - 1] = { from: previous.from, to: Math.max(previous.to, span.to) };
    } else joined.push(span);
  }
  return joined;
}

function spansInclude(spans: readonly SeqSpan[], seq: number): boolean {
  let low = 0;
  let high = spans.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const span = spans[middle] as SeqSpan;
    if (span.to < seq) low = middle + 1;
    else if (span.from > seq) high = middle;
    else return true;
  }
  return false;
}

/** How many seqs in [from, to] the spans hold. */
function countInSpans(spans: readonly SeqSpan[], from: number, to: number): number {
  let count = 0;
  for (const span of spans) {
    const low = Math.max(span.from, from);
    const high = Math.min(span.to, to);
    if (high >= low) count += high - low + 1;
  }
  return count;
}

/** Index of the first event with seq > lastSeq, by binary search (events ascend by seq). */
function firstNewIndex(events: readonly ReceivedTraceEvent[], lastSeq: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((events[middle] as ReceivedTraceEvent).seq <= lastSeq) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * One fold. Lists are copied at most once per `applyEvents` call, when first touched; the indexes
 * are appended to in place (see `TraceModelIndex`).
 */
class Draft {
  lastSeq: number;
  #eventCount: number;
  #statusCounts: Record<EventStatus, number>;
  #firstEventAt: number | undefined;
  #lastEventAt: number | undefined;
  #plan: PlanView;
  #usage: UsageTotals;
  readonly #spans: CopyOnWriteList<SpanView>;
  readonly #spanIds: Set<string>;
  readonly #calls: CopyOnWriteList<ToolCallView>;
  readonly #budgets: CopyOnWriteList<BudgetView>;
  readonly #approvals: CopyOnWriteList<ApprovalView>;
  readonly #problems: CopyOnWriteList<ProblemView>;
  readonly #callIndex: AppendOnlyIndex;
  readonly #approvalIndex: AppendOnlyIndex;
  readonly #budgetIndex: AppendOnlyIndex;

  private readonly base: TraceModel;
  constructor(base: TraceModel) {
    this.base = base;
    this.lastSeq = base.lastSeq;
    this.#eventCount = base.eventCount;
    this.#statusCounts = { ...base.statusCounts };
    this.#firstEventAt = base.firstEventAt;
    this.#lastEventAt = base.lastEventAt;
    this.#plan = base.plan;
    this.#usage = base.usage;
    this.#spans = new CopyOnWriteList(base.spans);
    this.#spanIds = new Set();
    this.#calls = new CopyOnWriteList(base.toolCalls);
    this.#budgets = new CopyOnWriteList(base.reportedBudgets);
    this.#approvals = new CopyOnWriteList(base.approvals);
    this.#problems = new CopyOnWriteList(base.problems);
    this.#callIndex = new AppendOnlyIndex(base.index.calls, base.toolCalls.length);
    this.#approvalIndex = new AppendOnlyIndex(base.index.approvals, base.approvals.length);
    this.#budgetIndex = new AppendOnlyIndex(base.index.budgets, base.reportedBudgets.length);
  }

  apply(event: ReceivedTraceEvent): void {
    const at = parseTime(event.timestamp) ?? this.#lastEventAt ?? 0;
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    this.#eventCount++;
    this.#statusCounts[event.status]++;
    this.#firstEventAt ??= at;
    this.#lastEventAt = this.#lastEventAt === undefined ? at : Math.max(this.#lastEventAt, at);
    if (this.#plan.startedAt === undefined) this.#plan = { ...this.#plan, startedAt: at };
    this.#noteSpan(event, at);
    // An event newer than this viewer counts (and is listed) but has no panel.
    if (!isKnownEvent(event)) return;

    switch (event.event) {
      case "plan_created":
        this.#onPlanCreated(event, at);
        break;
      case "route_decision":
        if (event.metadata.agent !== undefined) this.#plan = { ...this.#plan, agent: event.metadata.agent };
        break;
      case "tool_call_start":
        this.#onToolCallStart(event, at);
        break;
      case "llm_call_start":
        this.#onModelCallStart(event, at);
        break;
      case "llm_call_complete":
      case "llm_call_error":
        this.#onModelCallEnd(event, at);
        break;
      case "tool_call_complete":
      case "tool_call_error":
        this.#onToolCallEnd(event, at);
        break;
      case "budget_warning":
        this.#onBudget(event.metadata.budget_type, event.seq, (budget) => ({
          ...budget,
          used: event.metadata.used ?? budget.used,
          limit: event.metadata.limit ?? budget.limit,
          utilization:
            event.metadata.utilization ??
            ratio(event.metadata.used, event.metadata.limit) ??
            budget.utilization,
          state: budget.state === "exceeded" ? "exceeded" : "warning",
        }));
        break;
      case "budget_exceeded":
        this.#onBudgetExceeded(event, at);
        break;
      case "approval_requested":
        this.#onApprovalRequested(event, at);
        break;
      case "approval_received":
        this.#onApprovalSettled(event, at, event.metadata.decision === "rejected" ? "rejected" : "approved");
        break;
      case "approval_timeout":
        this.#onApprovalSettled(event, at, "timed_out");
        break;
      case "plan_completed":
        this.#onRunEnded();
        this.#plan = {
          ...this.#plan,
          outcome: "completed",
          endedAt: at,
          durationMs: event.metadata.duration_ms ?? this.#plan.durationMs,
          stepsCompleted: event.metadata.steps_completed ?? this.#plan.stepsCompleted,
        };
        break;
      case "plan_failed":
        this.#onRunEnded();
        this.#plan = {
          ...this.#plan,
          outcome: "failed",
          endedAt: at,
          error: event.metadata.error,
          errorType: event.metadata.error_type,
        };
        this.#addProblem(
          event,
          at,
          "Plan failed",
          joinError(event.metadata.error_type, event.metadata.error),
        );
        break;
    }
  }

  finish(log: FoldLog): TraceModel {
    const calls = this.#callIndex.map;
    const approvals = this.#approvalIndex.map;
    const budgets = this.#budgetIndex.map;
    const { index } = this.base;
    return {
      lastSeq: this.lastSeq,
      eventCount: this.#eventCount,
      statusCounts: this.#statusCounts,
      firstEventAt: this.#firstEventAt,
      lastEventAt: this.#lastEventAt,
      plan: this.#plan,
      toolCalls: this.#calls.items,
      usage: this.#usage,
      spans: this.#spans.items,
      budgets:
        this.#budgets.items === this.base.reportedBudgets && this.#usage === this.base.usage
          ? this.base.budgets
          : withUsage(this.#budgets.items, this.#usage),
      reportedBudgets: this.#budgets.items,
      approvals: this.#approvals.items,
      problems: this.#problems.items,
      index:
        calls === index.calls && approvals === index.approvals && budgets === index.budgets
          ? index
          : { calls, approvals, budgets },
      log,
    };
  }

  /** The first non-call event of each span id names that span. */
  #noteSpan(event: ReceivedTraceEvent, at: number): void {
    const spanId = (event as { span_id?: unknown }).span_id;
    if (typeof spanId !== "string" || CALL_EVENTS.has(event.event)) return;
    if (this.#spanIds.size === 0) for (const span of this.#spans.items) this.#spanIds.add(span.spanId);
    if (this.#spanIds.has(spanId)) return;
    this.#spanIds.add(spanId);
    const parentId = (event as { parent_id?: unknown }).parent_id;
    this.#spans.push({
      spanId,
      parentId: typeof parentId === "string" ? parentId : undefined,
      label: spanLabel(event),
      seq: event.seq,
      at,
    });
  }

  /** Calls and approvals still open when the run ends never finished: they are not running. */
  #onRunEnded(): void {
    this.#calls.items.forEach((call, position) => {
      if (call.state === "pending") this.#calls.set(position, { ...call, state: "unfinished" });
    });
    this.#approvals.items.forEach((approval, position) => {
      if (approval.state === "pending") this.#approvals.set(position, { ...approval, state: "unfinished" });
    });
  }

  // -- plan -----------------------------------------------------------------------------------------

  #onPlanCreated(event: Extract<TraceEvent, { event: "plan_created" }>, at: number): void {
    const { goal, profile, steps, total_budget: totalBudget } = event.metadata;
    this.#plan = {
      ...this.#plan,
      goal: goal ?? this.#plan.goal,
      profile: profile ?? this.#plan.profile,
      steps: steps ?? this.#plan.steps,
      startedAt: at,
    };
    if (typeof totalBudget === "number") {
      this.#onBudget(DEFAULT_BUDGET_TYPE, undefined, (budget) => ({ ...budget, limit: totalBudget }));
    } else if (totalBudget !== undefined) {
      for (const [budgetType, limit] of Object.entries(totalBudget)) {
        this.#onBudget(budgetType, undefined, (budget) => ({ ...budget, limit }));
      }
    }
  }

  // -- tool calls -----------------------------------------------------------------------------------

  #onToolCallStart(event: Extract<TraceEvent, { event: "tool_call_start" }>, at: number): void {
    const key = event.metadata.call_id ?? `seq:${event.seq}`;
    if (this.#callIndex.get(key) !== undefined) return; // a repeated start (same call_id) adds nothing
    this.#pushCall(key, {
      key,
      kind: "tool",
      tool: event.metadata.tool ?? "unknown tool",
      provider: undefined,
      usage: undefined,
      ...spanOf(event),
      domain: event.metadata.domain,
      sideEffectClass: event.metadata.side_effect_class,
      state: "pending",
      startSeq: event.seq,
      endSeq: undefined,
      startedAt: at,
      endedAt: undefined,
      durationMs: undefined,
      error: undefined,
      errorType: undefined,
    });
  }

  #onToolCallEnd(
    event: Extract<TraceEvent, { event: "tool_call_complete" | "tool_call_error" }>,
    at: number,
  ): void {
    const failed =
      event.event === "tool_call_error" ||
      event.status === "error" ||
      (event.event === "tool_call_complete" && event.metadata.success === false);
    const error = event.event === "tool_call_error" ? event.metadata.error : undefined;
    const errorType = event.event === "tool_call_error" ? event.metadata.error_type : undefined;
    const { tool, call_id: callId, duration_ms: reported } = event.metadata;
    const known = callId === undefined ? undefined : this.#callIndex.get(callId);
    const position = known ?? (callId === undefined ? this.#oldestPendingWithoutId(tool) : undefined);

    this.#endCall(event, at, position, callId ?? `seq:${event.seq}`, {
      kind: "tool",
      tool,
      failed,
      reported,
      error,
      errorType,
    });
    if (failed) {
      this.#addProblem(
        event,
        at,
        `Tool call failed: ${tool ?? "unknown tool"}`,
        joinError(errorType, error) ?? (error === undefined ? "reported success: false" : undefined),
      );
    }
  }

  /** Ends without call_id match the oldest pending call of the same tool that had none either. */
  #oldestPendingWithoutId(tool: string | undefined): number | undefined {
    const position = this.#calls.items.findIndex(
      (call) =>
        call.kind === "tool" &&
        (call.state === "pending" || call.state === "unfinished") &&
        call.key.startsWith("seq:") &&
        call.tool === tool,
    );
    return position === -1 ? undefined : position;
  }

  // -- model calls ----------------------------------------------------------------------------------

  #onModelCallStart(event: Extract<TraceEvent, { event: "llm_call_start" }>, at: number): void {
    const { call_id: callId, model, provider } = event.metadata;
    const key = callId === undefined ? `seq:${event.seq}` : `llm:${callId}`;
    if (this.#callIndex.get(key) !== undefined) return;
    this.#pushCall(key, {
      key,
      kind: "model",
      tool: model ?? "model call",
      provider,
      usage: undefined,
      ...spanOf(event),
      domain: undefined,
      sideEffectClass: undefined,
      state: "pending",
      startSeq: event.seq,
      endSeq: undefined,
      startedAt: at,
      endedAt: undefined,
      durationMs: undefined,
      error: undefined,
      errorType: undefined,
    });
  }

  #onModelCallEnd(
    event: Extract<TraceEvent, { event: "llm_call_complete" | "llm_call_error" }>,
    at: number,
  ): void {
    const failed = event.event === "llm_call_error" || event.status === "error";
    const { call_id: callId, model, provider, duration_ms: reported } = event.metadata;
    const error = event.event === "llm_call_error" ? event.metadata.error : undefined;
    const errorType = event.event === "llm_call_error" ? event.metadata.error_type : undefined;
    const complete = event.event === "llm_call_complete" ? event.metadata : undefined;
    const usage: ModelUsage = {
      inputTokens: event.metadata.input_tokens,
      outputTokens: event.metadata.output_tokens,
      cacheReadTokens: complete?.cache_read_tokens,
      costUsd: complete?.cost_usd,
      finishReason: complete?.finish_reason,
    };
    const key = callId === undefined ? undefined : `llm:${callId}`;
    const position =
      key === undefined
        ? this.#calls.items.findIndex(
            (call) =>
              call.kind === "model" &&
              (call.state === "pending" || call.state === "unfinished") &&
              call.key.startsWith("seq:") &&
              call.tool === (model ?? "model call"),
          )
        : (this.#callIndex.get(key) ?? -1);
    this.#endCall(event, at, position === -1 ? undefined : position, key ?? `seq:${event.seq}`, {
      kind: "model",
      tool: model,
      provider,
      usage,
      failed,
      reported,
      error,
      errorType,
    });
    const totals = this.#usage;
    this.#usage = {
      modelCalls: totals.modelCalls + 1,
      inputTokens: totals.inputTokens + (usage.inputTokens ?? 0),
      outputTokens: totals.outputTokens + (usage.outputTokens ?? 0),
      cacheReadTokens: totals.cacheReadTokens + (usage.cacheReadTokens ?? 0),
      costUsd: usage.costUsd === undefined ? totals.costUsd : (totals.costUsd ?? 0) + usage.costUsd,
    };
    if (failed) {
      this.#addProblem(event, at, `Model call failed: ${model ?? "model call"}`, joinError(errorType, error));
    }
  }

  /**
   * Folds a call's end: into its start at `position`, or, when the start was never seen (missing,
   * or released before the viewer opened), as the end alone under `key`. A second end for one call
   * leaves the first standing; an end after the run's end still counts.
   */
  #endCall(event: TraceEvent, at: number, position: number | undefined, key: string, end: CallEnd): void {
    const state = end.failed ? "error" : "success";
    if (position === undefined) {
      this.#pushCall(key, {
        key,
        kind: end.kind,
        tool: end.tool ?? (end.kind === "tool" ? "unknown tool" : "model call"),
        provider: end.provider,
        usage: end.usage,
        ...spanOf(event),
        domain: undefined,
        sideEffectClass: undefined,
        state,
        startSeq: undefined,
        endSeq: event.seq,
        startedAt: at - (end.reported ?? 0),
        endedAt: at,
        durationMs: end.reported,
        error: end.error,
        errorType: end.errorType,
      });
      return;
    }
    const call = this.#calls.get(position);
    if (call.state !== "pending" && call.state !== "unfinished") return;
    this.#calls.set(position, {
      ...call,
      tool: end.tool ?? call.tool,
      provider: end.provider ?? call.provider,
      usage: end.usage ?? call.usage,
      state,
      endSeq: event.seq,
      endedAt: at,
      durationMs: end.reported ?? Math.max(0, at - call.startedAt),
      error: end.error,
      errorType: end.errorType,
    });
  }

  #pushCall(key: string, call: ToolCallView): void {
    this.#callIndex.append(key);
    this.#calls.push(call);
  }

  // -- budgets --------------------------------------------------------------------------------------

  #onBudgetExceeded(event: Extract<TraceEvent, { event: "budget_exceeded" }>, at: number): void {
    const { budget_type: budgetType, limit, domain, tool } = event.metadata;
    this.#onBudget(budgetType, event.seq, (budget) => ({
      ...budget,
      limit: limit ?? budget.limit,
      utilization: Math.max(budget.utilization ?? 0, 1),
      state: "exceeded",
      domain: domain ?? budget.domain,
      tool: tool ?? budget.tool,
    }));
    const where = [tool, domain].filter(Boolean).join(" in ");
    const detail = [limit === undefined ? "" : `limit ${limit}`, where].filter(Boolean).join(", ");
    this.#addProblem(event, at, `Budget exceeded: ${budgetType ?? DEFAULT_BUDGET_TYPE}`, detail || undefined);
  }

  #onBudget(
    budgetType: string | undefined,
    seq: number | undefined,
    update: (budget: BudgetView) => BudgetView,
  ): void {
    const type = budgetType ?? DEFAULT_BUDGET_TYPE;
    let position = this.#budgetIndex.get(type);
    if (position === undefined) {
      position = this.#budgetIndex.append(type);
      this.#budgets.push({
        budgetType: type,
        used: undefined,
        limit: undefined,
        utilization: undefined,
        state: "ok",
        domain: undefined,
        tool: undefined,
        lastSeq: undefined,
      });
    }
    const updated = update(this.#budgets.get(position));
    this.#budgets.set(position, seq === undefined ? updated : { ...updated, lastSeq: seq });
  }

  // -- approvals ------------------------------------------------------------------------------------

  #onApprovalRequested(event: Extract<TraceEvent, { event: "approval_requested" }>, at: number): void {
    const id = event.metadata.approval_id ?? `seq:${event.seq}`;
    const { tool, risk_level: riskLevel, expires_at: expiresAt } = event.metadata;
    this.#upsertApproval(id, (approval) => ({
      ...approval,
      tool: tool ?? approval.tool,
      riskLevel: riskLevel ?? approval.riskLevel,
      expiresAt: parseTime(expiresAt) ?? approval.expiresAt,
      requestedAt: at,
      requestSeq: event.seq,
    }));
  }

  #onApprovalSettled(
    event: Extract<TraceEvent, { event: "approval_received" | "approval_timeout" }>,
    at: number,
    state: Exclude<ApprovalState, "pending">,
  ): void {
    const id = event.metadata.approval_id ?? this.#oldestPendingApproval() ?? `seq:${event.seq}`;
    const reason = event.event === "approval_received" ? event.metadata.reason : undefined;
    const approval = this.#upsertApproval(id, (current) => ({
      ...current,
      state,
      reason,
      decidedAt: at,
      decisionSeq: event.seq,
    }));
    const what = approval.tool ? `: ${approval.tool}` : "";
    if (state === "rejected") this.#addProblem(event, at, `Approval rejected${what}`, reason);
    else if (state === "timed_out") this.#addProblem(event, at, `Approval timed out${what}`, undefined);
  }

  #oldestPendingApproval(): string | undefined {
    return this.#approvals.items.find(
      (approval) => approval.state === "pending" || approval.state === "unfinished",
    )?.approvalId;
  }

  #upsertApproval(id: string, update: (approval: ApprovalView) => ApprovalView): ApprovalView {
    let position = this.#approvalIndex.get(id);
    if (position === undefined) {
      position = this.#approvalIndex.append(id);
      this.#approvals.push({
        approvalId: id,
        tool: undefined,
        riskLevel: undefined,
        expiresAt: undefined,
        requestedAt: undefined,
        requestSeq: undefined,
        state: "pending",
        reason: undefined,
        decidedAt: undefined,
        decisionSeq: undefined,
      });
    }
    const updated = update(this.#approvals.get(position));
    this.#approvals.set(position, updated);
    return updated;
  }

  // -- problems -------------------------------------------------------------------------------------

  #addProblem(event: TraceEvent, at: number, title: string, detail: string | undefined): void {
    this.#problems.push({ seq: event.seq, event: event.event, at, title, detail });
  }
}

/** A list copied on its first write; `items` is the original until then. */
class CopyOnWriteList<Item> {
  #items: readonly Item[];
  #owned = false;

  constructor(items: readonly Item[]) {
    this.#items = items;
  }

  get items(): readonly Item[] {
    return this.#items;
  }

  get(position: number): Item {
    return this.#items[position] as Item;
  }

  set(position: number, item: Item): void {
    this.#writable()[position] = item;
  }

  push(item: Item): void {
    this.#writable().push(item);
  }

  #writable(): Item[] {
    if (!this.#owned) {
      this.#items = [...this.#items];
      this.#owned = true;
    }
    return this.#items as Item[];
  }
}

/** The draft's view of one `TraceModelIndex` map: trusts positions below its list's length. */
class AppendOnlyIndex {
  #map: ReadonlyMap<string, number>;
  #length: number;

  constructor(map: ReadonlyMap<string, number>, length: number) {
    this.#map = map;
    this.#length = length;
  }

  get map(): ReadonlyMap<string, number> {
    return this.#map;
  }

  get(key: string): number | undefined {
    const position = this.#map.get(key);
    return position !== undefined && position < this.#length ? position : undefined;
  }

  /** Adds `key` at the next position and returns that position. */
  append(key: string): number {
    let map = this.#map as Map<string, number>;
    if (map.size !== this.#length || map.size === 0) {
      // Another fold already extended this map (this one branches from an older model), or it is
      // the empty model's map: start a map of this fold's own.
      map = new Map([...this.#map].filter(([, position]) => position < this.#length));
      this.#map = map;
    }
    const position = this.#length++;
    map.set(key, position);
    return position;
  }
}

/**
 * Budgets no budget_warning or budget_exceeded has spoken for yet take their usage from the model
 * calls: a type naming tokens counts input and output tokens, one naming cost, usd or dollars the
 * reported cost. A warning, once it arrives, is the producer's own word and stands.
 */
function withUsage(budgets: readonly BudgetView[], usage: UsageTotals): readonly BudgetView[] {
  if (usage.modelCalls === 0) return budgets;
  let changed: BudgetView[] | undefined;
  budgets.forEach((budget, position) => {
    if (budget.lastSeq !== undefined) return;
    const type = budget.budgetType.toLowerCase();
    const used = /token/.test(type)
      ? usage.inputTokens + usage.outputTokens
      : /cost|usd|dollar/.test(type)
        ? usage.costUsd
        : undefined;
    if (used === undefined || used === budget.used) return;
    const utilization = ratio(used, budget.limit);
    const exceeded = budget.limit !== undefined && used > budget.limit;
    changed ??= [...budgets];
    changed[position] = {
      ...budget,
      used,
      utilization: exceeded ? 1 : utilization,
      state: exceeded ? "exceeded" : utilization !== undefined && utilization >= WARN_AT ? "warning" : "ok",
    };
  });
  return changed ?? budgets;
}

/** Model-fed meters turn to warning at this share of the limit (producers usually warn at 80%). */
const WARN_AT = 0.8;

const CALL_EVENTS: ReadonlySet<string> = new Set([
  "tool_call_start",
  "tool_call_complete",
  "tool_call_error",
  "llm_call_start",
  "llm_call_complete",
  "llm_call_error",
]);

function spanOf(event: { span_id?: unknown; parent_id?: unknown }): {
  spanId: string | undefined;
  parentId: string | undefined;
} {
  return {
    spanId: typeof event.span_id === "string" ? event.span_id : undefined,
    parentId: typeof event.parent_id === "string" ? event.parent_id : undefined,
  };
}

function spanLabel(event: ReceivedTraceEvent): string {
  const metadata = (event.metadata ?? {}) as Record<string, unknown>;
  const what = event.event === "custom" && typeof metadata.name === "string" ? metadata.name : event.event;
  const who = [metadata.agent, metadata.goal].find((value) => typeof value === "string");
  return typeof who === "string" ? `${what}: ${who}` : what;
}

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function ratio(used: number | undefined, limit: number | undefined): number | undefined {
  if (used === undefined || limit === undefined || limit <= 0) return undefined;
  return Math.min(1, Math.max(0, used / limit));
}

function joinError(type: string | undefined, message: string | undefined): string | undefined {
  if (type && message) return `${type}: ${message}`;
  return message ?? type;
}
