import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createPublisher } from "../../client/producer.js";
import { MAX_SEQ } from "../../protocol/limits.js";
import { EVENT_NAMES, type EventName, EventStatus, TYPICAL_STATUS } from "../../protocol/trace-event.js";
import type { Command, CommandContext } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { ExitCode, UsageError } from "./errors.js";
import { explainDeliveryFailure, publisherOptions } from "./publishing.js";
import {
  checkTraceId,
  EVENTBRIDGE_HELP,
  eventBridgeOptions,
  parseInteger,
  resolveEventBridge,
  TARGET_HELP,
} from "./settings.js";

const NAME = "emit";

const OPTIONS = {
  ...eventBridgeOptions,
  trace: { type: "string" },
  event: { type: "string" },
  seq: { type: "string" },
  status: { type: "string" },
  metadata: { type: "string" },
  file: { type: "string" },
} as const;

type JsonObject = Record<string, unknown>;

function parseObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      NAME,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`${what} must be a JSON object`, NAME);
  }
  return value as JsonObject;
}

async function readInput(path: string, context: CommandContext): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of context.stdin)
      chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(
      `cannot read --file ${path}: ${code === "ENOENT" ? "no such file" : String(code ?? error)}`,
      NAME,
    );
  }
}

function eventName(value: unknown, from: string): EventName {
  if (typeof value === "string" && (EVENT_NAMES as readonly string[]).includes(value))
    return value as EventName;
  throw new UsageError(
    value === undefined
      ? '--event is required (or an "event" field in --file)'
      : `${from} ${JSON.stringify(value)} is not a trace event; one of: ${EVENT_NAMES.join(", ")}`,
    NAME,
  );
}

export const emitCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream emit --trace ID --event NAME --seq N [--status S] [--metadata JSON]
       trace-stream emit --file FILE|- [--trace ID] [--seq N] [...]

Publishes one TraceEvent to EventBridge, validated and redacted like the SDK does, and prints it
as sent (one JSON line). With --file (- reads stdin) the JSON is a full or partial TraceEvent;
flags override its fields. Missing event_id, timestamp, status and metadata are filled in
(a new UUID, now, the event's typical status, {}).

Why --seq is required: seq is the producer's own counter, dense per trace (0 for a trace's first
event, then 1, 2, ...). A one-shot command cannot know how far a producer got, and asking the
stack would race with events still in flight (and need table access producers do not have). An
event whose seq is already stored is dropped by the emitter as a duplicate; a skipped seq leaves a
gap viewers wait for. Give the next seq yourself, or use the SDK, which keeps the counter.

Options:
  --trace ID             trace id (or "trace_id" in the JSON)
  --event NAME           ${EVENT_NAMES.slice(0, 6).join(", ")},
                         ${EVENT_NAMES.slice(6).join(", ")}
  --seq N                the event's seq, 0 for the first (or "seq" in the JSON)
  --status S             pending, success, error or warning   default: the event's typical status
  --metadata JSON        a JSON object   default {}
  --file FILE            read the event from a JSON file; - reads stdin
${EVENTBRIDGE_HELP}
${TARGET_HELP}
  -h, --help             show this help

Example:
  trace-stream emit --trace run-1 --seq 0 --event plan_created --metadata '{"goal":"demo","steps":2}'`,

  async run(argv, context) {
    const { values } = parseCommandArgs(NAME, argv, OPTIONS);
    const settings = resolveEventBridge(values, context.env, NAME);
    const base =
      values.file === undefined ? {} : parseObject(await readInput(values.file, context), "--file");
    const metadata =
      values.metadata === undefined ? (base.metadata ?? {}) : parseObject(values.metadata, "--metadata");

    if (values.trace === undefined && base.trace_id === undefined) {
      throw new UsageError('--trace is required (or a "trace_id" field in --file)', NAME);
    }
    if (values.trace === undefined && typeof base.trace_id !== "string") {
      throw new UsageError('"trace_id" in --file must be a string (or pass --trace)', NAME);
    }
    const traceId =
      values.trace === undefined
        ? checkTraceId(base.trace_id as string, '"trace_id" in --file', NAME)
        : checkTraceId(values.trace, "--trace", NAME);
    const event = eventName(values.event ?? base.event, values.event === undefined ? "event" : "--event");
    let seq: number;
    if (values.seq !== undefined) seq = parseInteger(values.seq, "--seq", NAME, 0, MAX_SEQ);
    else if (base.seq === undefined) {
      throw new UsageError(
        "--seq is required: seq is the producer's counter (0 for a trace's first event); see --help for why",
        NAME,
      );
    } else seq = parseInteger(JSON.stringify(base.seq), '"seq" in --file', NAME, 0, MAX_SEQ);
    let status: unknown = base.status ?? TYPICAL_STATUS[event];
    if (values.status !== undefined) {
      const parsed = EventStatus.safeParse(values.status);
      if (!parsed.success) {
        throw new UsageError(
          `--status must be one of ${EventStatus.options.join(", ")}, got ${JSON.stringify(values.status)}`,
          NAME,
        );
      }
      status = parsed.data;
    }

    const publisher = createPublisher(publisherOptions(settings));
    // Throws TraceEventError (exit 2) for anything the schema refuses, before anything is sent.
    const sent = publisher.publish({
      ...base,
      event_id: base.event_id ?? randomUUID(),
      trace_id: traceId,
      seq,
      event,
      timestamp: base.timestamp ?? new Date().toISOString(),
      status,
      metadata,
      schema_version: base.schema_version ?? 1,
    });
    try {
      await publisher.close();
    } catch (error) {
      throw explainDeliveryFailure(error, settings);
    }
    context.stdout.write(`${JSON.stringify(sent)}\n`);
    return ExitCode.ok;
  },
};
