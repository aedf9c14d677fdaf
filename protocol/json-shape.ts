import { MAX_EVENT_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_VALUES } from "./limits.js";

/**
 * The shape checks run on untrusted JSON before anything recursive touches it: an explicit stack,
 * so any depth is safe, and a value budget, so any breadth stops early.
 */

export type JsonShapeProblem = "too_deep" | "too_many_values";

export interface JsonShapeLimits {
  /** Containers (objects and arrays) allowed on one path; the root container is level 1. */
  readonly maxDepth: number;
  /** Values (containers and scalars, the root included) allowed in all. */
  readonly maxValues: number;
}

/**
 * The first limit `value` breaks, or undefined when it is within both. Cycles count as too deep.
 * Work is bounded by the limits, not by the input: at most `maxValues` values are visited.
 */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits): JsonShapeProblem | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  let seen = 0;
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    seen++;
    if (next.value === null || typeof next.value !== "object") continue;
    if (next.depth > limits.maxDepth) return "too_deep";
    const children: unknown[] = Array.isArray(next.value) ? next.value : Object.values(next.value);
    if (seen + stack.length + children.length > limits.maxValues) return "too_many_values";
    for (const child of children) stack.push({ value: child, depth: next.depth + 1 });
  }
  return undefined;
}

/** Why metadata is refused before validation, as the error code and message to report. */
export interface MetadataShapeIssue {
  readonly code: "invalid_event" | "event_too_large";
  readonly message: string;
}

/** Checks event metadata against MAX_METADATA_DEPTH and MAX_METADATA_VALUES. */
export function metadataShapeIssue(metadata: unknown): MetadataShapeIssue | undefined {
  const problem = jsonShapeProblem(metadata, {
    maxDepth: MAX_METADATA_DEPTH,
    maxValues: MAX_METADATA_VALUES,
  });
  if (problem === "too_deep") {
    return {
      code: "invalid_event",
      message: `nests deeper than ${MAX_METADATA_DEPTH} levels (MAX_METADATA_DEPTH)`,
    };
  }
  if (problem === "too_many_values") {
    return {
      code: "event_too_large",
      message: `holds more than ${MAX_METADATA_VALUES} values; no event within ${MAX_EVENT_BYTES} bytes can`,
    };
  }
  return undefined;
}
