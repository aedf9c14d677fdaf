import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TRACE_EVENT_SCHEMA_FILE, traceEventRegistrySchema } from "../../lib/registry-schema.js";
import { traceEventJsonSchemaText } from "../../protocol/json-schema.js";
import { EVENT_NAMES } from "../../protocol/trace-event.js";

const committed = readFileSync(TRACE_EVENT_SCHEMA_FILE, "utf8");

/** Every keyword (object key outside `properties`/`definitions` maps) used anywhere in a schema. */
function keywords(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) keywords(item, found);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "properties" || key === "definitions") {
        for (const schema of Object.values(value as object)) keywords(schema, found);
      } else {
        found.add(key);
        keywords(value, found);
      }
    }
  }
  return found;
}

describe("schema registry document", () => {
  it("is built from the committed schema, which is current with the zod schema", () => {
    expect(committed).toBe(traceEventJsonSchemaText());
  });

  it("declares draft 4 and uses no keyword newer than draft 4", () => {
    const schema = traceEventRegistrySchema(committed, "trace-stream");
    expect(schema.$schema).toBe("http://json-schema.org/draft-04/schema#");
    const used = keywords(schema);
    for (const newer of ["$defs", "const", "propertyNames", "$id", "contains", "if", "then", "else"]) {
      expect(used.has(newer), newer).toBe(false);
    }
    expect(JSON.stringify(schema)).not.toContain("#/$defs/");
  });

  it("describes the EventBridge envelope with the canonical detail types, the source and the TraceEvent as detail", () => {
    const schema = traceEventRegistrySchema(committed, "acme.agents") as {
      required: string[];
      properties: Record<string, { enum?: unknown[]; $ref?: string }>;
      definitions: Record<string, unknown>;
    };
    expect(schema.required).toEqual(["detail-type", "source", "detail"]);
    expect(schema.properties["detail-type"]?.enum).toEqual([...EVENT_NAMES]);
    expect(schema.properties.source?.enum).toEqual(["acme.agents"]);
    expect(schema.properties.detail?.$ref).toBe("#/definitions/TraceEvent");
    expect(schema.definitions).toHaveProperty("TraceEvent");
  });

  it("turns const into a one-value enum and numeric exclusive bounds into draft 4's boolean form", () => {
    const source = JSON.stringify({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $ref: "#/$defs/X",
      $defs: {
        X: {
          type: "object",
          properties: {
            const: { const: 1 },
            ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
            tags: { type: "object", propertyNames: { type: "string" } },
          },
        },
      },
    });
    const schema = traceEventRegistrySchema(source, "s") as {
      definitions: { X: { properties: Record<string, unknown> } };
    };
    expect(schema.definitions.X.properties).toEqual({
      const: { enum: [1] },
      ratio: { type: "number", minimum: 0, exclusiveMinimum: true, maximum: 1, exclusiveMaximum: true },
      tags: { type: "object" },
    });
  });

  it("refuses a committed schema without $defs and $ref, naming the command that regenerates it", () => {
    expect(() => traceEventRegistrySchema(JSON.stringify({ type: "object" }), "s")).toThrow(/npm run schema/);
  });
});
