/**
 * The redactor's regexes and word lists, run by Python's `re` over the shared vectors: the rules
 * a Python port copies must mean there what they mean here. Skips (and says so) without python3;
 * REQUIRE_PYTHON=1 makes that a failure.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as redaction from "../../protocol/redact.js";

const python = spawnSync("python3", ["--version"]).status === 0;
if (!python && process.env.REQUIRE_PYTHON === "1") throw new Error("python3 is required (REQUIRE_PYTHON=1)");
if (!python) console.warn("skipping the Python portability check: python3 is not installed");

describe.skipIf(!python)("the redactor's rules under Python's re", () => {
  it("give the same output for every vector", () => {
    const rules = {
      sets: {
        SECRET_WORDS: [...redaction.SECRET_WORDS],
        SECRET_LAST_WORDS: [...redaction.SECRET_LAST_WORDS],
        SECRET_KEYS: [...redaction.SECRET_KEYS],
        VALUE_WORDS: [...redaction.VALUE_WORDS],
        MEASURE_WORDS: [...redaction.MEASURE_WORDS],
        SECRET_PAIRS: [...redaction.SECRET_PAIRS],
        PLURALS: [...redaction.PLURALS],
      },
      patterns: redaction.SECRET_VALUE_PATTERNS.map(({ pattern }) => [pattern.source, pattern.flags]),
      assignment: redaction.SECRET_ASSIGNMENT.source,
      passes: redaction.MAX_REDACT_PASSES,
    };
    const script = fileURLToPath(new URL("./python/redact_with_js_rules.py", import.meta.url));
    const vectors = fileURLToPath(new URL("../../protocol/test-vectors/redaction.json", import.meta.url));
    const run = spawnSync("python3", [script, vectors], { input: JSON.stringify(rules), encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual([]);
  });
});
