/**
 * `npm start` / `trace-stream dev`: the local stack on its default ports, the viewer beside it,
 * and a banner with every endpoint, a ready dev token, and the AWS CLI flags for each emulator.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { LocalStackError, PortInUseError } from "./http-server.js";
import { DEFAULT_LOCAL_HOST, type LocalStack, type LocalStackOptions, startLocalStack } from "./index.js";
import { describeError, formattedConsoleSink, type LogFormat, showHandlerLogsAsText } from "./log.js";

/** What a viewer starter gets: the running stack and where to listen. */
export interface ViewerContext {
  readonly stack: LocalStack;
  readonly host: string;
  readonly port: number;
  /** For the viewer's own lines. */
  readonly log: (message: string) => void;
}

export interface RunningViewer {
  /** The page's URL, printed in the banner. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the web viewer next to the stack (the hook for web/viewer-server.ts). */
export type ViewerStarter = (context: ViewerContext) => Promise<RunningViewer>;

export interface DevServerOptions extends LocalStackOptions {
  /**
   * Trace id of the banner's token, connect URL and put-events command. @default a fresh
   * `hello-<8 hex>` per start, so the printed command never reuses a trace a kept data directory
   * already holds (a second seq 0 there is a seq conflict).
   */
  readonly demoTraceId?: string;
  /**
   * How logs are printed: `text`, one short line per record (the handlers' Powertools JSON
   * rewritten for the terminal while `runDevServer` runs), or `json`, as the handlers log on AWS.
   * Ignored when `logSink` is given. @default "text"
   */
  readonly logFormat?: LogFormat;
  /** Lifetime of the banner's token. @default 12 h */
  readonly tokenTtlSeconds?: number;
  /**
   * The viewer: the default starts web/viewer-server.ts; a function starts another; `false` runs
   * the stack alone.
   */
  readonly viewer?: ViewerStarter | false;
  /** @default 3000 */
  readonly viewerPort?: number;
  /** Stops the server when aborted (the CLI passes its Ctrl-C signal). Without it, SIGINT and SIGTERM stop it. */
  readonly signal?: AbortSignal;
  /** Where the banner goes. @default stdout */
  readonly print?: (text: string) => void;
}

export interface DevServer {
  readonly stack: LocalStack;
  readonly viewer: RunningViewer | undefined;
  /** The text printed at start-up. */
  readonly banner: string;
  readonly demoTraceId: string;
  readonly demoToken: string;
  /** Stops the viewer and the stack; safe to call more than once. */
  stop(): Promise<void>;
}

export const DEFAULT_VIEWER_PORT = 3000;

const defaultViewer: ViewerStarter = async ({ stack, host, port, log }) => {
  const { startViewerServer } = await import("../web/viewer-server.js");
  return startViewerServer({ stack, host, port, log });
};

/**
 * Starts the stack (and the viewer) and builds the banner, without printing it or waiting.
 * Rejects with a `LocalStackError` (a `PortInUseError` for a taken port) whose message is meant
 * for the user as it is.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const stack = await startLocalStack({
    ...options,
    logSink: options.logSink ?? formattedConsoleSink(options.logFormat ?? "text"),
  });
  try {
    const host = options.host ?? DEFAULT_LOCAL_HOST;
    const viewerStarter = options.viewer === undefined ? defaultViewer : options.viewer;
    const viewerLog = stack.log.child("viewer");
    const viewer = viewerStarter
      ? await viewerStarter({
          stack,
          host,
          port: options.viewerPort ?? DEFAULT_VIEWER_PORT,
          log: (message) => viewerLog.info(message),
        })
      : undefined;
    const demoTraceId = options.demoTraceId ?? `hello-${randomUUID().slice(0, 8)}`;
    const ttlSeconds = options.tokenTtlSeconds ?? 12 * 60 * 60;
    const demoToken = await stack.mintToken(demoTraceId, ttlSeconds);
    let stopping: Promise<void> | undefined;
    return {
      stack,
      viewer,
      banner: devBanner({
        stack,
        viewer,
        demoTraceId,
        demoToken,
        ttlSeconds,
        dataDir: options.dataDir === undefined ? undefined : resolve(options.dataDir),
        logFormat: options.logFormat ?? "text",
      }),
      demoTraceId,
      demoToken,
      stop: () => {
        stopping ??= (async () => {
          await viewer?.close().catch((error: unknown) => stack.log.warn(`viewer: ${describeError(error)}`));
          await stack.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/**
 * Runs the dev server until `signal` aborts (or, without a signal, until SIGINT or SIGTERM):
 * prints the banner, then stops everything cleanly. Start-up failures reject with a
 * `LocalStackError` whose message says what to do (for a port in use: which service and port).
 */
export async function runDevServer(options: DevServerOptions = {}): Promise<void> {
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const asText = (options.logFormat ?? "text") === "text" && options.logSink === undefined;
  const restoreOutput = asText ? showHandlerLogsAsText() : () => undefined;
  try {
    const server = await startDevServer(options);
    print(server.banner);
    await stopSignal(options.signal);
    print("\nStopping the local stack...\n");
    await server.stop();
    print("Stopped.\n");
  } finally {
    restoreOutput();
  }
}

function stopSignal(signal: AbortSignal | undefined): Promise<void> {
  if (signal) {
    return signal.aborted
      ? Promise.resolve()
      : new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** The start-up text: endpoints, a dev token and connect URL, and AWS CLI commands for each emulator. */
export function devBanner(input: {
  stack: LocalStack;
  viewer: RunningViewer | undefined;
  demoTraceId: string;
  demoToken: string;
  ttlSeconds: number;
  /** Absolute; undefined when the data is in memory. */
  dataDir?: string | undefined;
  logFormat?: LogFormat;
}): string {
  const { stack, viewer, demoTraceId, demoToken } = input;
  const { endpoints, region } = stack;
  const aws = (service: string, rest: string, endpoint: string) =>
    `  aws ${service} ${rest} \\\n      --endpoint-url ${endpoint} --region ${region}`;
  const sample = {
    event_id: randomUUID(),
    trace_id: demoTraceId,
    seq: 0,
    event: "plan_created",
    timestamp: new Date().toISOString(),
    status: "success",
    metadata: { goal: "say hello", steps: 1 },
    schema_version: 1,
  };
  const entries = JSON.stringify([
    {
      EventBusName: stack.busName,
      Source: stack.source,
      DetailType: sample.event,
      Detail: JSON.stringify(sample),
    },
  ]);
  const rows: Array<[string, string]> = [
    ["WebSocket API", `${endpoints.webSocketUrl}  (?traceId=...&token=...)`],
    ["@connections", endpoints.managementEndpoint],
    ["EventBridge", `${endpoints.eventBridge}  (bus "${stack.busName}", source "${stack.source}")`],
    ["SQS dead letters", endpoints.deadLetterQueueUrl],
    ["SQS emitter failures", endpoints.emitterFailureQueueUrl],
    [
      "DynamoDB",
      `${endpoints.dynamodb}  (table "${stack.tableName}"${stack.streamArn ? ", with its stream" : ""})`,
    ],
    ["Token endpoint", `${endpoints.tokenEndpoint}  (GET ?traceId=T, SigV4-signed)`],
  ];
  if (viewer) rows.unshift(["Viewer", viewer.url]);
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const hours = Math.round((input.ttlSeconds / 3600) * 10) / 10;
  return [
    "",
    `trace-stream local stack is running (region ${region}, account ${stack.accountId})`,
    "",
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}${value}`),
    "",
    input.dataDir === undefined
      ? "Data: in memory, gone when the stack stops (--data-dir DIR keeps it)"
      : `Data: kept in ${input.dataDir}`,
    stack.fanOut === "stream"
      ? "Fan-out: stream (events stored, then posted in batches from the table's stream)"
      : "Fan-out: direct (the emitter posts each event; --fan-out stream batches them)",
    input.logFormat === "json"
      ? "Logs: JSON, as the Lambda handlers log on AWS"
      : "Logs: one line per record (--log-format json: the Lambda handlers' JSON, as on AWS)",
    "",
    `Dev token for trace "${demoTraceId}" (${hours} h, signed with the local dev secret):`,
    `  ${demoToken}`,
    "Connect:",
    `  ${stack.connectUrl(demoTraceId, demoToken)}`,
    ...(viewer
      ? ["Watch it in the viewer:", `  ${viewer.url}?traceId=${encodeURIComponent(demoTraceId)}`]
      : []),
    "Or ask the token endpoint for one, signed with the local credentials (as deployed, with yours):",
    `  ${tokenCurl(stack, demoTraceId)}`,
    "",
    "AWS CLI, v1 or v2 (any credentials work locally):",
    "  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
    aws("events put-events", `--entries '${entries}'`, endpoints.eventBridge),
    aws("dynamodb scan", `--table-name ${stack.tableName}`, endpoints.dynamodb),
    // fileb:// sends the bytes as they are under both majors (v2 reads a plain --data as base64).
    `  printf '{"type":"pong"}' | aws apigatewaymanagementapi post-to-connection \\\n      --connection-id=<id> --data fileb:///dev/stdin --endpoint-url ${endpoints.managementEndpoint} --region ${region}`,
    aws(
      "sqs receive-message",
      `--queue-url ${endpoints.deadLetterQueueUrl} --message-attribute-names All --max-number-of-messages 10`,
      endpoints.sqs,
    ),
    "",
    "Press Ctrl+C to stop.",
    "",
  ].join("\n");
}

/**
 * A curl command that gets a viewer token from the token endpoint with curl's own SigV4 signing,
 * as the local caller (LOCAL_CALLER, credentials local/local).
 */
export function tokenCurl(stack: LocalStack, traceId: string): string {
  const url = `${stack.endpoints.tokenEndpoint}?traceId=${encodeURIComponent(traceId)}`;
  return `curl --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user local:local "${url}"`;
}

export { LocalStackError, PortInUseError };
