/**
 * The viewer's picture of one run, built from its TraceEvents (pure: no clock, no DOM, no I/O).
 *
 * `applyEvents(model, events)` folds new events into a model and returns a new model. It is
 * incremental: events at or below `model.lastSeq` are ignored (the client's window may hand the
 * same events again), and only the parts an event touches are copied, once per call, so a run of
 * 10,000 events streamed in small batches costs about as much as one pass over them.
 */
import {
  type EventStatus,
  isKnownEvent,
  type ReceivedTraceEvent,
  type TraceEvent,
} from "../protocol/trace-event.js";

export type CallState = "pending" | "success" | "error";

export interface ToolCallView {
  /** The producer's `call_id`, or `seq:N` of the start event when it sent none. */
  readonly key: string;
  readonly tool: string;
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

export type ApprovalState = "pending" | "approved" | "rejected" | "timed_out";

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

export interface TraceModel {
  /** Highest seq folded in; -1 for none. */
  readonly lastSeq: number;
  readonly eventCount: number;
  readonly statusCounts: Readonly<Record<EventStatus, number>>;
  readonly firstEventAt: number | undefined;
  readonly lastEventAt: number | undefined;
  readonly plan: PlanView;
  /** In order of their first event. */
  readonly toolCalls: readonly ToolCallView[];
  /** One per budget type, in order of first mention. */
  readonly budgets: readonly BudgetView[];
  /** In order of request. */
  readonly approvals: readonly ApprovalView[];
  readonly problems: readonly ProblemView[];
  /** Lookup tables for the incremental fold; not for display (see `TraceModelIndex`). */
  readonly index: TraceModelIndex;
}

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
  budgets: Object.freeze([]),
  approvals: Object.freeze([]),
  problems: Object.freeze([]),
  index: Object.freeze({ calls: new Map(), approvals: new Map(), budgets: new Map() }),
});

/** The budget type used when an event names none (and for a plain-number `total_budget`). */
export const DEFAULT_BUDGET_TYPE = "total";

/**
 * Folds `events` (ascending seq; gaps allowed) into `model`. Returns `model` itself when no event
 * is new, so React can skip work by identity.
 */
export function applyEvents(model: TraceModel, events: readonly ReceivedTraceEvent[]): TraceModel {
  const start = firstNewIndex(events, model.lastSeq);
  if (start >= events.length) return model;
  const draft = new Draft(model);
  for (let i = start; i < events.length; i++) {
    const event = events[i] as ReceivedTraceEvent;
    if (event.seq <= draft.lastSeq) continue;
    draft.apply(event);
  }
  return draft.finish();
}

/** Builds a model from scratch. */
export function buildTraceModel(events: readonly ReceivedTraceEvent[]): TraceModel {
  return applyEvents(EMPTY_TRACE_MODEL, events);
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
    this.#calls = new CopyOnWriteList(base.toolCalls);
    this.#budgets = new CopyOnWriteList(base.budgets);
    this.#approvals = new CopyOnWriteList(base.approvals);
    this.#problems = new CopyOnWriteList(base.problems);
    this.#callIndex = new AppendOnlyIndex(base.index.calls, base.toolCalls.length);
    this.#approvalIndex = new AppendOnlyIndex(base.index.approvals, base.approvals.length);
    this.#budgetIndex = new AppendOnlyIndex(base.index.budgets, base.budgets.length);
  }

  apply(event: ReceivedTraceEvent): void {
    const at = parseTime(event.timestamp) ?? this.#lastEventAt ?? 0;
    this.lastSeq = event.seq;
    this.#eventCount++;
    this.#statusCounts[event.status]++;
    this.#firstEventAt ??= at;
    this.#lastEventAt = this.#lastEventAt === undefined ? at : Math.max(this.#lastEventAt, at);
    if (this.#plan.startedAt === undefined) this.#plan = { ...this.#plan, startedAt: at };
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
        this.#plan = {
          ...this.#plan,
          outcome: "completed",
          endedAt: at,
          durationMs: event.metadata.duration_ms ?? this.#plan.durationMs,
          stepsCompleted: event.metadata.steps_completed ?? this.#plan.stepsCompleted,
        };
        break;
      case "plan_failed":
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

  finish(): TraceModel {
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
      budgets: this.#budgets.items,
      approvals: this.#approvals.items,
      problems: this.#problems.items,
      index:
        calls === index.calls && approvals === index.approvals && budgets === index.budgets
          ? index
          : { calls, approvals, budgets },
    };
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
      tool: event.metadata.tool ?? "unknown tool",
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

    if (position === undefined) {
      // The start was never seen (missing, or released before the viewer opened): show the end alone.
      const key = callId ?? `seq:${event.seq}`;
      this.#pushCall(key, {
        key,
        tool: tool ?? "unknown tool",
        domain: undefined,
        sideEffectClass: undefined,
        state: failed ? "error" : "success",
        startSeq: undefined,
        endSeq: event.seq,
        startedAt: at - (reported ?? 0),
        endedAt: at,
        durationMs: reported,
        error,
        errorType,
      });
    } else {
      const call = this.#calls.get(position);
      if (call.state !== "pending") return; // a second end for one call: the first one stands
      this.#calls.set(position, {
        ...call,
        tool: tool ?? call.tool,
        state: failed ? "error" : "success",
        endSeq: event.seq,
        endedAt: at,
        durationMs: reported ?? Math.max(0, at - call.startedAt),
        error,
        errorType,
      });
    }
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
      (call) => call.state === "pending" && call.key.startsWith("seq:") && call.tool === tool,
    );
    return position === -1 ? undefined : position;
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
    return this.#approvals.items.find((approval) => approval.state === "pending")?.approvalId;
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
