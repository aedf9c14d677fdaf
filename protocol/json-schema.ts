import { z } from "zod";
import { TraceEvent } from "./trace-event.js";

/** JSON Schema (draft 2020-12) of TraceEvent v1, generated from the zod schema for other languages. */
export function traceEventJsonSchema(): Record<string, unknown> {
  return {
    $id: "https://trace-stream.dev/schema/trace-event.schema.json",
    ...z.toJSONSchema(TraceEvent, { target: "draft-2020-12", io: "input" }),
  };
}

export function traceEventJsonSchemaText(): string {
  return `${JSON.stringify(traceEventJsonSchema(), null, 2)}\n`;
}
