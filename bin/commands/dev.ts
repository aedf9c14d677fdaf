import type { DevServerOptions } from "../../local/dev-server.js";
import type { LogLevel } from "../../local/index.js";
import { LOG_FORMATS, type LogFormat } from "../../local/log.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { CliError, ExitCode, UsageError } from "./errors.js";
import { ENV_VARS, parseInteger, setting } from "./settings.js";

const NAME = "dev";

const OPTIONS = {
  "data-dir": { type: "string" },
  "stack-only": { type: "boolean", default: false },
  "log-level": { type: "string", default: "info" },
  "log-format": { type: "string" },
  "fan-out": { type: "string" },
  "websocket-port": { type: "string" },
  "eventbridge-port": { type: "string" },
  "dynamodb-port": { type: "string" },
  "token-port": { type: "string" },
  "viewer-port": { type: "string" },
} as const;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

export const devCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream dev [--data-dir DIR] [--stack-only] [--log-format text|json] [--fan-out direct|stream]

Runs the whole system on this machine, the same as \`npm start\`: the WebSocket API and @connections
(3001, stage "local"), EventBridge and SQS (4010, bus and source "trace-stream"), DynamoDB (8000),
the token endpoint (3002, GET /token signed with the local credentials), the Lambda handlers
behind them, and the viewer (3000). Prints every endpoint and a ready dev token. Stop with Ctrl-C.

Options:
  --data-dir DIR         keep DynamoDB data in DIR across restarts   default: in memory
  --stack-only           no viewer, only the stack
  --log-level LEVEL      debug, info, warn, error or silent   default info
  --log-format FORMAT    text: one line per record; json: the Lambda handlers' JSON as on AWS
                         [${ENV_VARS.logFormat}]  default text
  --fan-out MODE         direct: the emitter posts each event; stream: it stores them and a
                         fan-out function posts batches from the table's stream (as the
                         construct's fanOut) [${ENV_VARS.fanOut}]  default direct
  --websocket-port N     default 3001 (0 picks a free port; so do the others)
  --eventbridge-port N   default 4010
  --dynamodb-port N      default 8000
  --token-port N         default 3002
  --viewer-port N        default 3000
  -h, --help             show this help

The JWT secret is TRACE_STREAM_JWT_SECRET when set, else the local development secret.`,

  async run(argv, context) {
    const { values } = parseCommandArgs(NAME, argv, OPTIONS);
    const logLevel = values["log-level"] as LogLevel;
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new UsageError(
        `--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`,
        NAME,
      );
    }
    const logFormat = (setting(values, "log-format", context.env, ENV_VARS.logFormat) ?? "text") as LogFormat;
    if (!LOG_FORMATS.includes(logFormat)) {
      throw new UsageError(
        `${values["log-format"] === undefined ? ENV_VARS.logFormat : "--log-format"} must be one of ${LOG_FORMATS.join(", ")}, got ${JSON.stringify(logFormat)}`,
        NAME,
      );
    }
    const fanOut = setting(values, "fan-out", context.env, ENV_VARS.fanOut) ?? "direct";
    if (fanOut !== "direct" && fanOut !== "stream") {
      throw new UsageError(
        `${values["fan-out"] === undefined ? ENV_VARS.fanOut : "--fan-out"} must be direct or stream, got ${JSON.stringify(fanOut)}`,
        NAME,
      );
    }
    const port = (name: keyof typeof OPTIONS) => {
      const value = values[name];
      return typeof value === "string" ? parseInteger(value, `--${name}`, NAME, 0, 65_535) : undefined;
    };
    const ports = {
      ...(port("websocket-port") === undefined ? {} : { webSocket: port("websocket-port") }),
      ...(port("eventbridge-port") === undefined ? {} : { eventBridge: port("eventbridge-port") }),
      ...(port("dynamodb-port") === undefined ? {} : { dynamodb: port("dynamodb-port") }),
      ...(port("token-port") === undefined ? {} : { tokenApi: port("token-port") }),
    };
    const viewerPort = port("viewer-port");
    const options: DevServerOptions = {
      ports,
      logLevel,
      logFormat,
      fanOut,
      signal: context.signal,
      print: (text) => context.stdout.write(text),
      ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] }),
      ...(values["stack-only"] ? { viewer: false as const } : {}),
      ...(viewerPort === undefined ? {} : { viewerPort }),
    };
    // Loaded here, not at the top: the stack is heavy, and only this command needs it.
    const { runDevServer, LocalStackError, PortInUseError, DEFAULT_VIEWER_PORT } = await import(
      "../../local/dev-server.js"
    );
    const { DEFAULT_LOCAL_PORTS } = await import("../../local/index.js");
    try {
      await runDevServer(options);
    } catch (error) {
      if (error instanceof PortInUseError) {
        // Which flag moves the service off the taken port.
        const flags: Array<[string, number]> = [
          ["--websocket-port", ports.webSocket ?? DEFAULT_LOCAL_PORTS.webSocket],
          ["--eventbridge-port", ports.eventBridge ?? DEFAULT_LOCAL_PORTS.eventBridge],
          ["--dynamodb-port", ports.dynamodb ?? DEFAULT_LOCAL_PORTS.dynamodb],
          ["--viewer-port", viewerPort ?? DEFAULT_VIEWER_PORT],
        ];
        const flag = flags.find(([, requested]) => requested === error.port)?.[0];
        throw new CliError(
          `${error.service} cannot listen on ${error.host}:${error.port}: the port is already in use` +
            (flag === undefined ? "" : ` (${flag})`),
          ExitCode.failure,
          {
            cause: error,
            hint: `stop the other process, or choose another port${flag === undefined ? "" : ` with ${flag} N`} (0 picks a free one)`,
          },
        );
      }
      // The stack's other start-up errors (a bad data dir) are written for the user.
      if (error instanceof LocalStackError)
        throw new CliError(error.message, ExitCode.failure, { cause: error });
      throw error;
    }
    // Ctrl-C is how a dev server is meant to stop.
    return ExitCode.ok;
  },
};
