/**
 * EventBridge event-pattern matching, for the local bus. It covers what trace-stream's rule uses
 * (exact values, OR over a list, absent field = no match) and the common content filters: prefix,
 * suffix, equals-ignore-case, wildcard, anything-but, numeric, exists and `$or`.
 */

export interface EventPattern {
  readonly [key: string]: EventPattern | readonly unknown[];
}

/** A pattern EventBridge would refuse at PutRule (`InvalidEventPatternException`). */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
}

const NUMERIC_OPERATORS = new Set(["<", "<=", "=", ">", ">="]);
const CONTENT_FILTERS = new Set([
  "prefix",
  "suffix",
  "equals-ignore-case",
  "wildcard",
  "anything-but",
  "numeric",
  "exists",
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Throws `InvalidEventPatternError` for a pattern EventBridge would not accept. */
export function validateEventPattern(pattern: unknown, path = "pattern"): asserts pattern is EventPattern {
  if (!isRecord(pattern)) throw new InvalidEventPatternError(`${path} must be a JSON object`);
  for (const [key, value] of Object.entries(pattern)) {
    const at = `${path}.${key}`;
    if (key === "$or") {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidEventPatternError(`${at} must be an array of at least two patterns`);
      }
      value.forEach((branch, index) => {
        validateEventPattern(branch, `${at}[${index}]`);
      });
    } else if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidEventPatternError(`${at} must not be an empty array`);
      for (const matcher of value) validateMatcher(matcher, at);
    } else if (isRecord(value)) {
      validateEventPattern(value, at);
    } else {
      throw new InvalidEventPatternError(`${at} must be an array of values or a nested pattern`);
    }
  }
}

function validateMatcher(matcher: unknown, at: string): void {
  if (matcher === null || ["string", "number", "boolean"].includes(typeof matcher)) return;
  if (!isRecord(matcher))
    throw new InvalidEventPatternError(`${at} holds a value that is neither a literal nor a filter`);
  const keys = Object.keys(matcher);
  const filter = keys[0];
  if (keys.length !== 1 || filter === undefined || !CONTENT_FILTERS.has(filter)) {
    throw new InvalidEventPatternError(`${at} holds an unknown content filter ${JSON.stringify(matcher)}`);
  }
  const operand = matcher[filter];
  switch (filter) {
    case "prefix":
    case "suffix":
      if (typeof operand === "string" && operand.length > 0) return;
      if (isRecord(operand) && typeof operand["equals-ignore-case"] === "string") return;
      throw new InvalidEventPatternError(`${at}: ${filter} takes a non-empty string`);
    case "equals-ignore-case":
    case "wildcard":
      if (typeof operand === "string") return;
      throw new InvalidEventPatternError(`${at}: ${filter} takes a string`);
    case "exists":
      if (typeof operand === "boolean") return;
      throw new InvalidEventPatternError(`${at}: exists takes true or false`);
    case "numeric":
      validateNumeric(operand, at);
      return;
    case "anything-but":
      if (typeof operand === "string" || typeof operand === "number") return;
      if (
        Array.isArray(operand) &&
        operand.length > 0 &&
        operand.every((v) => ["string", "number"].includes(typeof v))
      ) {
        return;
      }
      if (isRecord(operand)) {
        validateMatcher(operand, `${at}.anything-but`);
        return;
      }
      throw new InvalidEventPatternError(`${at}: anything-but takes a value, a list of values or a filter`);
  }
}

function validateNumeric(operand: unknown, at: string): void {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
    throw new InvalidEventPatternError(`${at}: numeric takes one or two [operator, number] pairs`);
  }
  for (let i = 0; i < operand.length; i += 2) {
    if (!NUMERIC_OPERATORS.has(String(operand[i])) || typeof operand[i + 1] !== "number") {
      throw new InvalidEventPatternError(`${at}: numeric takes one or two [operator, number] pairs`);
    }
  }
}

/** True when `event` (an EventBridge envelope or any JSON object) matches `pattern`. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: EventPattern, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => matchObject(pattern, item));
  if (!isRecord(value)) return false;
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === "$or") {
      const branches = sub as readonly EventPattern[];
      if (!branches.some((branch) => matchObject(branch, value))) return false;
    } else if (Array.isArray(sub)) {
      if (!matchField(sub, value, key)) return false;
    } else if (!Object.hasOwn(value, key) || !matchObject(sub as EventPattern, value[key])) {
      return false;
    }
  }
  return true;
}

function matchField(matchers: readonly unknown[], holder: Record<string, unknown>, key: string): boolean {
  const present = Object.hasOwn(holder, key);
  const field = holder[key];
  // A list in the event matches when any of its elements does.
  const values: unknown[] = present ? (Array.isArray(field) ? field : [field]) : [];
  return matchers.some((matcher) => {
    if (isRecord(matcher) && "exists" in matcher) {
      // exists applies to leaf values only: an object or an empty list is not a leaf.
      const leaf = present && !isRecord(field) && !(Array.isArray(field) && field.length === 0);
      return matcher.exists === true ? leaf : !present;
    }
    return values.some((value) => matchValue(matcher, value));
  });
}

function matchValue(matcher: unknown, value: unknown): boolean {
  if (!isRecord(matcher)) return matcher === value;
  const [filter, operand] = Object.entries(matcher)[0] ?? [];
  switch (filter) {
    case "prefix":
      return typeof value === "string" && affixMatch(operand, value, (text, affix) => text.startsWith(affix));
    case "suffix":
      return typeof value === "string" && affixMatch(operand, value, (text, affix) => text.endsWith(affix));
    case "equals-ignore-case":
      return typeof value === "string" && value.toLowerCase() === String(operand).toLowerCase();
    case "wildcard":
      return typeof value === "string" && wildcardRegExp(String(operand)).test(value);
    case "numeric":
      return typeof value === "number" && numericMatch(operand as readonly (string | number)[], value);
    case "anything-but":
      return anythingBut(operand, value);
    default:
      return false;
  }
}

function affixMatch(
  operand: unknown,
  value: string,
  test: (text: string, affix: string) => boolean,
): boolean {
  if (typeof operand === "string") return test(value, operand);
  if (isRecord(operand) && typeof operand["equals-ignore-case"] === "string") {
    return test(value.toLowerCase(), operand["equals-ignore-case"].toLowerCase());
  }
  return false;
}

function anythingBut(operand: unknown, value: unknown): boolean {
  if (value === null || value === undefined || isRecord(value) || Array.isArray(value)) return false;
  if (Array.isArray(operand)) return !operand.some((excluded) => excluded === value);
  if (isRecord(operand)) return !matchValue(operand, value);
  return operand !== value;
}

function numericMatch(operand: readonly (string | number)[], value: number): boolean {
  for (let i = 0; i + 1 < operand.length; i += 2) {
    const bound = operand[i + 1] as number;
    const holds =
      operand[i] === "<"
        ? value < bound
        : operand[i] === "<="
          ? value <= bound
          : operand[i] === "="
            ? value === bound
            : operand[i] === ">"
              ? value > bound
              : value >= bound;
    if (!holds) return false;
  }
  return true;
}

function wildcardRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === "\\" && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string);
    } else if (char === "*") source += ".*";
    else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`, "s");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
