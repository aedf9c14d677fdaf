/**
 * The run as a tree of spans by `parent_id` (pure): calls (tool and model) and the spans other
 * events name (agents, steps). A parent not seen leaves its children at the top; a cycle is broken
 * where it closes. Iterative throughout, with the depth shown capped at MAX_DEPTH.
 */
import type { CallState, SpanView, ToolCallView, TraceModel } from "./trace-model.js";

export const MAX_DEPTH = 32;

export interface SpanNode {
  readonly id: string;
  readonly kind: "tool" | "model" | "span";
  readonly label: string;
  readonly detail: string | undefined;
  readonly state: CallState | "span";
  readonly seq: number | undefined;
  readonly startedAt: number;
  /** Calls: their end; spans: the latest end below them (undefined while any runs). */
  readonly endedAt: number | undefined;
  readonly children: readonly SpanNode[];
}

export interface SpanRow {
  readonly node: SpanNode;
  readonly depth: number;
}

interface Draft {
  id: string;
  kind: SpanNode["kind"];
  label: string;
  detail: string | undefined;
  state: SpanNode["state"];
  seq: number | undefined;
  parentId: string | undefined;
  startedAt: number;
  endedAt: number | undefined;
  open: boolean;
  children: Draft[];
}

/** True when the events say anything about nesting (else the tree would repeat the timeline). */
export function hasSpanStructure(model: TraceModel): boolean {
  return model.spans.length > 0 || model.toolCalls.some((call) => call.parentId !== undefined);
}

export function buildSpanTree(calls: readonly ToolCallView[], spans: readonly SpanView[]): SpanNode[] {
  const byId = new Map<string, Draft>();
  const all: Draft[] = [];
  for (const call of calls) {
    const id = call.spanId ?? `call:${call.key}`;
    if (byId.has(id)) continue;
    const draft: Draft = {
      id,
      kind: call.kind,
      label: call.tool,
      detail: call.kind === "model" ? call.provider : call.domain,
      state: call.state,
      seq: call.startSeq ?? call.endSeq,
      parentId: call.parentId,
      startedAt: call.startedAt,
      endedAt: call.endedAt,
      open: call.state === "pending",
      children: [],
    };
    byId.set(id, draft);
    all.push(draft);
  }
  for (const span of spans) {
    if (byId.has(span.spanId)) continue;
    const draft: Draft = {
      id: span.spanId,
      kind: "span",
      label: span.label,
      detail: undefined,
      state: "span",
      seq: span.seq,
      parentId: span.parentId,
      startedAt: span.at,
      endedAt: span.at,
      open: false,
      children: [],
    };
    byId.set(span.spanId, draft);
    all.push(draft);
  }
  const roots: Draft[] = [];
  for (const draft of all) {
    const parent = draft.parentId === undefined ? undefined : byId.get(draft.parentId);
    if (parent === undefined || closesCycle(draft, parent, byId)) roots.push(draft);
    else parent.children.push(draft);
  }
  // Spans end with their last descendant; children in start order. Post-order, iteratively.
  const order: Draft[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const draft = stack.pop() as Draft;
    order.push(draft);
    stack.push(...draft.children);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const draft = order[i] as Draft;
    draft.children.sort((a, b) => a.startedAt - b.startedAt || (a.seq ?? 0) - (b.seq ?? 0));
    if (draft.kind !== "span") continue;
    for (const child of draft.children) {
      draft.startedAt = Math.min(draft.startedAt, child.startedAt);
      draft.open ||= child.open;
      if (draft.endedAt !== undefined && child.endedAt !== undefined) {
        draft.endedAt = Math.max(draft.endedAt, child.endedAt);
      }
    }
    if (draft.open) draft.endedAt = undefined;
  }
  roots.sort((a, b) => a.startedAt - b.startedAt || (a.seq ?? 0) - (b.seq ?? 0));
  return roots as SpanNode[];
}

/** Whether making `parent` the parent of `draft` would close a loop (walks up, bounded). */
function closesCycle(draft: Draft, parent: Draft, byId: ReadonlyMap<string, Draft>): boolean {
  let current: Draft | undefined = parent;
  for (let steps = 0; current !== undefined && steps <= byId.size; steps++) {
    if (current === draft) return true;
    current = current.parentId === undefined ? undefined : byId.get(current.parentId);
  }
  return false;
}

/** The rows to show: depth-first, children of collapsed nodes left out; depth capped at MAX_DEPTH. */
export function visibleRows(
  roots: readonly SpanNode[],
  collapsed: ReadonlySet<string>,
  limit: number,
): SpanRow[] {
  const rows: SpanRow[] = [];
  const stack: SpanRow[] = [...roots].reverse().map((node) => ({ node, depth: 0 }));
  while (stack.length > 0 && rows.length < limit) {
    const row = stack.pop() as SpanRow;
    rows.push(row);
    if (collapsed.has(row.node.id)) continue;
    const depth = Math.min(row.depth + 1, MAX_DEPTH);
    for (let i = row.node.children.length - 1; i >= 0; i--) {
      stack.push({ node: row.node.children[i] as SpanNode, depth });
    }
  }
  return rows;
}

/** How many nodes the tree holds. */
export function countNodes(roots: readonly SpanNode[]): number {
  let count = 0;
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop() as SpanNode;
    count++;
    stack.push(...node.children);
  }
  return count;
}
