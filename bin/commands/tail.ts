import WebSocket from "ws";
import { TraceStreamClient, type TraceStreamState, type WebSocketConstructor } from "../../client/index.js";
import { MAX_SEQ } from "../../protocol/limits.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { CliError, ExitCode, UnreachableError } from "./errors.js";
import { formatEvent, painter, shouldColor } from "./event-format.js";
import {
  checkTraceId,
  ENV_VARS,
  parseInteger,
  resolveTarget,
  resolveWebSocketUrl,
  setting,
  TARGET_HELP,
  WEBSOCKET_HELP,
  webSocketOptions,
} from "./settings.js";
import { viewerToken } from "./tokens.js";

const NAME = "tail";

/** `ws` with a User-Agent, so `trace-stream connections` can tell who is watching. */
class CliWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { headers: { "User-Agent": "trace-stream-cli tail" } });
  }
}

const OPTIONS = {
  ...webSocketOptions,
  json: { type: "boolean", default: false },
  from: { type: "string" },
} as const;

/** Why the stream gave up, as an exit code and a message. */
function failure(state: Extract<TraceStreamState, { status: "failed" }>, url: string): CliError {
  switch (state.code) {
    case "unauthorized":
    case "forbidden":
    case "handshake_refused":
      return new CliError(state.reason, ExitCode.notAuthorized, {
        hint: "mint a token with `trace-stream token --trace ID`, or check TRACE_STREAM_JWT_SECRET",
      });
    case "bad_request":
      return new CliError(state.reason, ExitCode.usage);
    case "attempts_exhausted":
      return new CliError(`${state.reason} (${url})`, ExitCode.unreachable);
  }
}

export const tailCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream tail <traceId> [--json] [--from SEQ]

Shows a trace's stored events, then each new one live, in seq order and each exactly once, across
reconnects (API Gateway drops connections after 10 idle minutes and 2 hours; tail resumes after
the last event it showed). Exits 0 after the trace's terminal event (plan_completed or
plan_failed). Coloured when writing to a terminal (not with NO_COLOR); status lines go to stderr.

Options:
  --json                 one JSON TraceEvent per line on stdout, nothing else
  --from SEQ             show only events with seq >= SEQ   default 0
${WEBSOCKET_HELP}
${TARGET_HELP}
  -h, --help             show this help

Exits 4 when the token is refused (401) or does not grant the trace (403), 3 when the WebSocket
API cannot be reached.`,

  async run(argv, context) {
    const { values, positionals } = parseCommandArgs(NAME, argv, OPTIONS, { max: 1 });
    const traceId = checkTraceId(positionals[0], "<traceId>", NAME);
    const from = values.from === undefined ? 0 : parseInteger(values.from, "--from", NAME, 0, MAX_SEQ);
    const url = resolveWebSocketUrl(values, context.env, NAME);
    const target = resolveTarget(values, context.env, NAME);
    const fixedToken = setting(values, "token", context.env, ENV_VARS.token);
    // Minted up front so configuration errors surface here; a fresh one for every reconnect.
    const firstToken = await viewerToken(values, context.env, target, NAME, traceId);
    let tokenUsed = false;
    const getToken = async () => {
      if (fixedToken !== undefined) return fixedToken;
      if (!tokenUsed) {
        tokenUsed = true;
        return firstToken;
      }
      return viewerToken(values, context.env, target, NAME, traceId);
    };

    const paint = painter(shouldColor(context.stdout, context.env));
    const note = painter(shouldColor(context.stderr, context.env));
    const status = (text: string) => context.stderr.write(`${note("dim", `-- ${text}`)}\n`);
    const client = new TraceStreamClient({
      url,
      traceId,
      getToken,
      WebSocket: CliWebSocket as unknown as WebSocketConstructor,
      pageSignals: null,
      reconnect: { maxDelayMs: 10_000 },
    });

    return new Promise<ExitCode>((resolve, reject) => {
      let opened = false;
      const finish = (result: ExitCode | Error) => {
        context.signal.removeEventListener("abort", onAbort);
        client.disconnect();
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onAbort = () => finish(ExitCode.interrupted);
      context.signal.addEventListener("abort", onAbort, { once: true });

      client.on("event", (event) => {
        if (event.seq < from) return;
        context.stdout.write(values.json ? `${JSON.stringify(event)}\n` : `${formatEvent(event, paint)}\n`);
      });
      client.on("conflicts", (conflicts) => {
        const count = `${conflicts.more ? "more than " : ""}${conflicts.count}`;
        context.stderr.write(
          `${note("yellow", `-- another run reused this trace id: ${count} event${conflicts.count === 1 && !conflicts.more ? " was" : "s were"} refused (seq_conflict); shown is the run that used it first`)}
`,
        );
      });
      client.on("missing", (range) => {
        status(
          `seq ${range.from === range.to ? range.from : `${range.from}-${range.to}`} no longer stored; skipped`,
        );
      });
      client.on("state", (state) => {
        switch (state.status) {
          case "backfilling":
            if (!opened && !values.json) status(`watching ${traceId} at ${url}`);
            opened = true;
            return;
          case "live":
            if (!values.json) status("live");
            return;
          case "reconnecting":
            if (!opened) {
              // Never connected: a wrong address or a stack that is not running; say so now.
              finish(
                state.code === "connection_lost"
                  ? new UnreachableError("the WebSocket API", url, new Error(state.reason))
                  : new CliError(`${state.reason} (${url})`, ExitCode.failure),
              );
              return;
            }
            status(`${state.reason}; reconnecting in ${Math.round(state.delayMs)} ms`);
            return;
          case "ended":
            if (!values.json) status(`trace ended (${state.event.event})`);
            finish(ExitCode.ok);
            return;
          case "failed":
            finish(failure(state, url));
            return;
        }
      });
      client.connect();
    });
  },
};
