import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { traceEventJsonSchemaText } from "../protocol/json-schema.js";

/** Regenerates schema/trace-event.schema.json from the zod schema (`npm run schema`). */
const target = fileURLToPath(new URL("../schema/trace-event.schema.json", import.meta.url));
writeFileSync(target, traceEventJsonSchemaText());
console.log(`wrote ${target}`);
