import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { traceEventJsonSchemaText } from "../protocol/json-schema.js";

/**
 * Regenerates schema/trace-event.schema.json from the zod schema (`npm run schema`), and the copy
 * the Python package ships and validates with (python/tests checks the two stay identical).
 */
const text = traceEventJsonSchemaText();
for (const path of [
  "../schema/trace-event.schema.json",
  "../python/src/trace_stream/trace-event.schema.json",
]) {
  const target = fileURLToPath(new URL(path, import.meta.url));
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
