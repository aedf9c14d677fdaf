import { randomUUID } from "node:crypto";
import { createTrace, TraceDeliveryError } from "../../client/producer.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { DEMO_EVENTS, isInterrupted, runDemo } from "./demo-run.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { formatEvent, painter, shouldColor } from "./event-format.js";
import { explainDeliveryFailure, publisherOptions } from "./publishing.js";
import {
  checkTraceId,
  checkUrl,
  ENV_VARS,
  EVENTBRIDGE_HELP,
  eventBridgeOptions,
  LOCAL,
  resolveEventBridge,
  setting,
  TARGET_HELP,
  type Target,
} from "./settings.js";
import { traceUse } from "./trace-in-use.js";

const NAME = "demo";

const OPTIONS = {
  ...eventBridgeOptions,
  trace: { type: "string" },
  speed: { type: "string", default: "1" },
  "viewer-url": { type: "string" },
} as const;

function parseSpeed(value: string): number {
  const speed = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(speed > 0 && speed <= 1_000_000)) {
    throw new UsageError(
      `--speed must be a number above 0 (1 is human pace, 10 ten times faster), got ${JSON.stringify(value)}`,
      NAME,
    );
  }
  return speed;
}

/** What to run to follow the trace in a terminal, as the README spells the CLI. */
export function tailCommand(traceId: string, target: Target): string {
  return `npx trace-stream tail ${traceId}${target === "aws" ? " --target aws" : ""}`;
}

export const demoCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream demo [--trace ID] [--speed N]

Publishes a simulated agent run (${DEMO_EVENTS.length} events: plan, routing, tool calls with durations,
one failing call and its retry, a budget warning, an approval requested then received, plan
completed) through the producer SDK, paced like a real run (about 20 s at --speed 1). Prints the
trace id, the viewer link and the command that follows the run in a terminal first, then one line
per event once EventBridge has accepted it. An event that cannot be delivered is reported at once
and ends the run (exit 3 when EventBridge cannot be reached, else 1).

Options:
  --trace ID             trace id   default demo-<uuid>; refused if the trace already has events
                         (its table: the local stack's, or ${ENV_VARS.table})
  --speed N              pace factor: 1 is human pace, 10 is ten times faster   default 1
  --viewer-url URL       the viewer   [${ENV_VARS.viewerUrl}]  default (local) ${LOCAL.viewerUrl}
${EVENTBRIDGE_HELP}
${TARGET_HELP}
  -h, --help             show this help`,

  async run(argv, context) {
    const { values } = parseCommandArgs(NAME, argv, OPTIONS);
    const settings = resolveEventBridge(values, context.env, NAME);
    const traceId =
      values.trace === undefined ? `demo-${randomUUID()}` : checkTraceId(values.trace, "--trace", NAME);
    const speed = parseSpeed(values.speed);
    const viewerBase =
      setting(values, "viewer-url", context.env, ENV_VARS.viewerUrl) ??
      (settings.target === "local" ? LOCAL.viewerUrl : undefined);
    if (viewerBase !== undefined) checkUrl(viewerBase, "viewer-url", NAME, ["http:", "https:"]);

    if (values.trace !== undefined) {
      // Every event of a second run under the same id would be refused (seq_conflict) while
      // EventBridge says "accepted": say it now, where the user is, instead.
      const use = await traceUse(traceId, settings.target, context.env, settings.region);
      if (use.kind === "used") {
        throw new CliError(
          `trace ${traceId} already has events (seq 0-${use.highestSeq} stored): a second run under the same id would have every event refused as seq_conflict, and viewers would keep showing the first run`,
          ExitCode.usage,
          { hint: "leave out --trace for a fresh id, or choose one no run has used" },
        );
      }
      if (use.kind === "unknown") {
        const warn = painter(shouldColor(context.stderr, context.env));
        context.stderr.write(
          `${warn("yellow", `warning: could not check whether trace ${traceId} already has events (${use.reason}); if it has, this run's events will be refused`)}
`,
        );
      }
    }

    const paint = painter(shouldColor(context.stdout, context.env));
    const note = painter(shouldColor(context.stderr, context.env));
    const trace = createTrace({ ...publisherOptions(settings), traceId });
    let undelivered: TraceDeliveryError | undefined;
    // Each line appears once EventBridge has accepted its event, so a ✓ never stands for an event
    // that is still in doubt; the first event that cannot be delivered is reported at once and
    // ends the run (viewers would wait at the gap forever).
    const show = async (event: TraceEvent) => {
      try {
        await trace.flush();
      } catch (error) {
        if (!(error instanceof TraceDeliveryError)) throw error;
        undelivered = error;
        for (const failure of error.failures) {
          context.stderr.write(
            `${note("red", `✗ #${failure.seq} ${event.seq === failure.seq ? `${event.event} ` : ""}not delivered`)}: ${failure.code}: ${failure.message} (${failure.attempts} attempt${failure.attempts === 1 ? "" : "s"})\n`,
          );
        }
        throw error;
      }
      context.stdout.write(`${formatEvent(event, paint)}\n`);
    };

    context.stdout.write(`${paint("bold", "trace ")}  ${traceId}\n`);
    if (viewerBase !== undefined) {
      const link = new URL(viewerBase);
      link.searchParams.set("traceId", traceId);
      context.stdout.write(`${paint("bold", "viewer")}  ${link.href}\n`);
    }
    context.stdout.write(`${paint("bold", "tail  ")}  ${tailCommand(traceId, settings.target)}\n\n`);

    try {
      await runDemo(trace, { speed, signal: context.signal }, show);
    } catch (error) {
      if (!isInterrupted(error) && !(error instanceof TraceDeliveryError)) throw error;
    }
    if (context.signal.aborted && !trace.ended && undelivered === undefined) {
      // Viewers stop at a terminal event; without one they would wait for this run forever.
      await show(
        trace.fail(Object.assign(new Error("the demo was interrupted"), { name: "Interrupted" })),
      ).catch(() => undefined);
    }
    try {
      await trace.close();
    } catch (error) {
      throw explainDeliveryFailure(error, settings);
    }
    if (context.signal.aborted) return ExitCode.interrupted;
    context.stdout.write(
      `\n${paint("green", "done")}: ${trace.nextSeq} events delivered to bus ${settings.busName}\n`,
    );
    return ExitCode.ok;
  },
};
