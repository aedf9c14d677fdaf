/**
 * JSON for payloads of any depth. V8's JSON.stringify recurses and throws a RangeError a few
 * thousand levels down, while JSON.parse does not; so a body EventBridge accepted could not cross
 * the local Lambda runner's JSON boundary, and its failure handler died on the same call. These
 * helpers never recurse.
 */
import { failureRecordBody } from "../lambdas/failure-recorder/failure-recorder.js";
import { describeError } from "./log.js";

interface Frame {
  readonly container: object;
  /** Own enumerable keys of an object; undefined for an array. */
  readonly keys: string[] | undefined;
  readonly length: number;
  index: number;
  wrote: boolean;
}

/**
 * The same text as `JSON.stringify(value)` (no replacer, no indent) at any depth: `toJSON` is
 * honoured, boxed primitives are unwrapped, values JSON cannot carry are left out of objects and
 * become null in arrays, non-finite numbers become null, and cycles and BigInts throw TypeError.
 */
export function stringifyJson(value: unknown): string | undefined {
  const root = prepare(value, "");
  if (!isContainer(root)) return scalarText(root);
  const out: string[] = [];
  const path = new Set<object>();
  const stack: Frame[] = [];
  const enter = (container: object) => {
    if (path.has(container)) throw new TypeError("Converting circular structure to JSON");
    path.add(container);
    const keys = Array.isArray(container) ? undefined : Object.keys(container);
    const length = keys ? keys.length : (container as unknown[]).length;
    stack.push({ container, keys, length, index: 0, wrote: false });
    out.push(keys ? "{" : "[");
  };
  enter(root);
  for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
    if (frame.index >= frame.length) {
      out.push(frame.keys ? "}" : "]");
      path.delete(frame.container);
      stack.pop();
      continue;
    }
    const index = frame.index++;
    if (!frame.keys) {
      if (index > 0) out.push(",");
      const item = prepare((frame.container as unknown[])[index], String(index));
      if (isContainer(item)) enter(item);
      else out.push(scalarText(item) ?? "null");
      continue;
    }
    const key = frame.keys[index] as string;
    const item = prepare((frame.container as Record<string, unknown>)[key], key);
    const text = isContainer(item) ? undefined : scalarText(item);
    if (!isContainer(item) && text === undefined) continue;
    out.push(`${frame.wrote ? "," : ""}${JSON.stringify(key)}:`);
    frame.wrote = true;
    if (isContainer(item)) enter(item);
    else out.push(text as string);
  }
  return out.join("");
}

/** Crosses a JSON boundary as Lambda's payload does (serialize, parse), at any depth. */
export function copyThroughJson(value: unknown): unknown {
  const text = stringifyJson(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

/**
 * What the local stack queues when the failure recorder itself failed: the recorder's redacted
 * body, or, should even that fail, the record's context with the payload left out. Never the raw
 * record (it holds the unredacted event) and never a throw.
 */
export function fallbackFailureBody(record: {
  readonly requestContext?: unknown;
  readonly timestamp?: unknown;
}): string {
  try {
    return failureRecordBody(record);
  } catch (error) {
    return JSON.stringify({
      timestamp: typeof record.timestamp === "string" ? record.timestamp : undefined,
      requestContext: copyThroughJson(record.requestContext),
      requestPayload_omitted: `the record could not be redacted: ${describeError(error)}`,
    });
  }
}

function prepare(value: unknown, key: string): unknown {
  let prepared = value;
  if ((typeof prepared === "object" && prepared !== null) || typeof prepared === "bigint") {
    const toJSON = (prepared as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") prepared = toJSON.call(prepared, key);
  }
  if (prepared instanceof Number) return Number(prepared);
  if (prepared instanceof String) return String(prepared);
  if (prepared instanceof Boolean || prepared instanceof BigInt) return prepared.valueOf();
  return prepared;
}

function isContainer(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function scalarText(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new TypeError("Do not know how to serialize a BigInt");
    case "object":
      return "null";
    default:
      return undefined;
  }
}
