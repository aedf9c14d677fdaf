/**
 * The redactor against the shared, language-neutral vectors in protocol/test-vectors/redaction.json
 * (ports in other languages read the same file), plus the portability rules its regexes keep.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  isSecretKey,
  REDACTED,
  redact,
  redactString,
  SECRET_ASSIGNMENT,
  SECRET_VALUE_PATTERNS,
} from "../../protocol/index.js";

interface StringVector {
  readonly id: string;
  readonly source: string;
  readonly input: string;
  readonly output: string;
  readonly secrets: readonly string[];
}
interface Vectors {
  readonly marker: string;
  readonly secret_keys: readonly string[];
  readonly harmless_keys: readonly string[];
  readonly strings: readonly StringVector[];
  readonly harmless_strings: readonly string[];
  readonly documents: readonly { id: string; input: unknown; output: unknown; secrets: readonly string[] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../protocol/test-vectors/redaction.json", import.meta.url), "utf8"),
) as Vectors;

describe("redaction vectors", () => {
  it("use the marker the redactor writes", () => {
    expect(vectors.marker).toBe(REDACTED);
  });

  it.each(vectors.secret_keys)("treats the key %s as a secret", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each(vectors.harmless_keys)("keeps the key %s", (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it.each(vectors.strings.map((vector) => [vector.id, vector] as const))("masks %s", (_id, vector) => {
    const output = redactString(vector.input);
    expect(output).toBe(vector.output);
    for (const secret of vector.secrets) expect(output).not.toContain(secret);
  });

  it.each(vectors.harmless_strings)("leaves %s alone", (text) => {
    expect(redactString(text)).toBe(text);
  });

  it.each(vectors.documents.map((vector) => [vector.id, vector] as const))(
    "redacts the document %s",
    (_id, vector) => {
      const output = redact(vector.input);
      expect(output).toEqual(vector.output);
      for (const secret of vector.secrets) expect(JSON.stringify(output)).not.toContain(secret);
    },
  );

  it("is idempotent: redacting redacted text changes nothing", () => {
    for (const vector of vectors.strings) expect(redactString(vector.output)).toBe(vector.output);
  });
});

describe("redaction of corpus pieces glued together (property)", () => {
  const pieces = [
    ...vectors.strings.map((vector) => vector.input),
    ...vectors.harmless_strings,
    ...[" ", "=", ":", '"', "'", "\\", "&", "\n", "password", "token", REDACTED, "Bearer ", "basic "],
  ];
  // Whole texts only: a bare scheme word ("Bearer ") glued before another text takes its first token.
  const whole = [...vectors.strings.map((vector) => vector.input), ...vectors.harmless_strings, REDACTED];
  const secretsOf = new Map(vectors.strings.map((vector) => [vector.input, vector.secrets]));

  it("is idempotent, however the pieces are glued", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 6 }), (parts) => {
        const once = redactString(parts.join(""));
        expect(redactString(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  // Glued without a separator, one token can swallow the next one's name (`...abcdclient_secret=`);
  // text puts at least a space, a newline or punctuation between secrets.
  it("masks every secret of every piece in text that separates them", () => {
    const separator = fc.constantFrom(" ", "\n", "; ", ", ", "&", "\t");
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...whole), { maxLength: 6 }), separator, (parts, between) => {
        const output = redactString(parts.join(between));
        for (const part of parts)
          for (const secret of secretsOf.get(part) ?? []) expect(output).not.toContain(secret);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the redactor's regexes stay portable to Python's re (with re.ASCII)", () => {
  const patterns = [...SECRET_VALUE_PATTERNS.map(({ pattern }) => pattern), SECRET_ASSIGNMENT];

  it.each(patterns.map((pattern) => [pattern.source.slice(0, 40), pattern] as const))(
    "%s",
    (_name, pattern) => {
      expect(pattern.flags.replace(/[gi]/g, "")).toBe("");
      // No lookbehind, named groups, inline flags, Unicode escapes, `.`/`\s`/`$` (JS and Python differ).
      expect(pattern.source).not.toMatch(
        /\(\?<|\(\?[a-z]|\\[pPuk]|\\s(?![\\S])|(?<!\\)\$|(?<![\\[])\.(?![^[]*\])/,
      );
    },
  );

  it("each value pattern has exactly one capture group, first", () => {
    for (const { pattern } of SECRET_VALUE_PATTERNS) {
      expect(new RegExp(`${pattern.source}|`).exec("")?.length).toBe(2);
      expect(pattern.source.startsWith("(") && !pattern.source.startsWith("(?")).toBe(true);
    }
  });
});
