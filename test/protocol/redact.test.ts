import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSecretKey, REDACTED, redact, redactString } from "../../protocol/index.js";

describe("redact", () => {
  it.each([
    "password",
    "db_password",
    "clientSecret",
    "client_secret",
    "token",
    "access_token",
    "refreshToken",
    "api_key",
    "apiKey",
    "X-API-KEY",
    "apikey",
    "Authorization",
    "credentials",
    "private_key",
    "privateKey",
    "aws_access_key_id",
    "secret_access_key",
    "cookie",
    "Set-Cookie",
    "session",
    "session_id",
    "sessionToken",
    "passphrase",
  ])("treats %s as a secret key", (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    "max_tokens",
    "token_count",
    "input_tokens",
    "author",
    "authority",
    "tool",
    "keyboard",
    "session_count",
    "password_length",
    "token_type",
    "budget_type",
    "key",
    "monkey",
    "secretary_name",
  ])("keeps the harmless key %s", (key) => {
    expect(isSecretKey(key)).toBe(false);
  });

  it("replaces secret values recursively through objects and arrays", () => {
    const input = {
      tool: "http",
      max_tokens: 512,
      request: { headers: { Authorization: "Basic dXNlcjpwYXNz", accept: "json" } },
      attempts: [{ api_key: "k1" }, { note: "fine" }],
      password: { nested: "the whole value goes" },
    };
    expect(redact(input)).toEqual({
      tool: "http",
      max_tokens: 512,
      request: { headers: { Authorization: REDACTED, accept: "json" } },
      attempts: [{ api_key: REDACTED }, { note: "fine" }],
      password: REDACTED,
    });
  });

  it("masks bearer tokens, JWTs and AWS access keys wherever they appear", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    expect(redactString(`curl -H "Authorization: Bearer abc.def-ghi"`)).toBe(
      `curl -H "Authorization: ${REDACTED}"`,
    );
    expect(redactString(`token was ${jwt} today`)).toBe(`token was ${REDACTED} today`);
    expect(redactString("key AKIAIOSFODNN7EXAMPLE used")).toBe(`key ${REDACTED} used`);
    expect(redactString("an unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. token")).toBe(
      `an unsigned ${REDACTED} token`,
    );
    expect(redact({ error: `401 for Bearer abc`, list: [jwt] })).toEqual({
      error: `401 for ${REDACTED}`,
      list: [REDACTED],
    });
  });

  it("leaves ordinary text, numbers, booleans and null alone", () => {
    const input = {
      goal: "Book a flight to Lisbon",
      steps: 4,
      ok: true,
      none: null,
      words: ["bear", "basic"],
    };
    expect(redact(input)).toEqual(input);
  });

  it("does not change its input and survives cycles", () => {
    const input: Record<string, unknown> = { token: "t", child: { a: 1 } };
    input.self = input;
    const output = redact(input) as Record<string, unknown>;
    expect(input.token).toBe("t");
    expect(output.token).toBe(REDACTED);
    expect(output.self).toBe("[Circular]");
  });

  it("never lets a secret stored under a secret key or shaped like a token through (property)", () => {
    const secretKey = fc.constantFrom("password", "apiKey", "client_secret", "access_token", "Authorization");
    const secretValue = fc.stringMatching(/^[A-Za-z0-9]{12,40}$/).map((value) => `s3cr3t-${value}`);
    const json = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.string(),
        fc.integer(),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(json, secretKey, secretValue, fc.boolean(), (tree, key, secret, asBearer) => {
        const planted = asBearer ? { note: `header: Bearer ${secret}` } : { [key]: secret };
        const output = JSON.stringify(redact({ tree, planted, list: [planted] }));
        expect(output).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });
});
