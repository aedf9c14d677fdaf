import { traceEventJsonSchemaText } from "../../protocol/json-schema.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { ExitCode } from "./errors.js";

const NAME = "schema";

export const schemaCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream schema

Prints the JSON Schema (draft 2020-12) of TraceEvent v1, generated from the same zod schema the
SDK and the emitter validate with. The committed copy is schema/trace-event.schema.json.

Options:
  -h, --help             show this help`,

  async run(argv, context) {
    parseCommandArgs(NAME, argv, {});
    context.stdout.write(traceEventJsonSchemaText());
    return ExitCode.ok;
  },
};
