import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mintToken as mintViewerToken } from "../lambdas/authorizer/token.js";
import { DEFAULT_EMITTER_CONCURRENCY } from "../lambdas/emitter/handler.js";
import { DEFAULT_MAX_TOKEN_TTL_SECONDS, DEFAULT_TOKEN_TTL_SECONDS } from "../lambdas/token/token-endpoint.js";
import { DEFAULT_EVENT_SOURCE, EMITTER_TARGET_RETRY, traceEventPattern } from "../lib/event-rule.js";
import { FAN_OUT_FILTER_PATTERN, FAN_OUT_STREAM, type FanOutStreamSettings } from "../lib/fan-out-stream.js";
import { FUNCTION_SPECS } from "../lib/function-specs.js";
import type { StageThrottle } from "../lib/routes.js";
import { PARTITION_KEY, SORT_KEY } from "../lib/table-design.js";
import { DEFAULT_EVENT_RETENTION_DAYS, DEFAULT_MAX_SUBSCRIBERS_PER_TRACE } from "../protocol/limits.js";
import { type TokenGrantRules, TokenGrantRules as TokenGrantRulesSchema } from "../protocol/token-api.js";
import { startAwsApiServer } from "./aws-api-server.js";
import { type DeliveryFaultSettings, DeliveryFaults } from "./delivery-faults.js";
import { DeliveryJournal } from "./delivery-journal.js";
import { LOCAL_CREDENTIALS, startDynamoDb } from "./dynamodb.js";
import { startStreamFront } from "./dynamodb-stream-front.js";
import { LocalEventBus } from "./event-bus.js";
import { validateEventPattern } from "./event-pattern.js";
import { createPutEvents } from "./eventbridge-api.js";
import {
  type ConnectionInfo,
  type GatewayFaults,
  type GatewayLimits,
  startWebSocketGateway,
  type WebSocketGateway,
} from "./gateway/index.js";
import { isLoopbackHost, LocalStackError, PortInUseError } from "./http-server.js";
import { AsyncInvoker } from "./lambda-async.js";
import { lambdaFunctionConfig } from "./lambda-env.js";
import {
  createLambdaRunner,
  type HandlerFactory,
  LAMBDA_FUNCTIONS,
  type LambdaFunctionName,
  type LambdaRunner,
} from "./lambda-runner.js";
import { createLogger, describeError, type LocalLogger, type LogLevel, type LogSink } from "./log.js";
import type { EventBridgeEnvelope } from "./put-events.js";
import type { RetryPolicy } from "./retrying-dispatcher.js";
import { fallbackFailureBody } from "./safe-json.js";
import type { LocalCaller } from "./sigv4.js";
import { SqsApi } from "./sqs-api.js";
import { LocalQueue, type QueuedMessage } from "./sqs-queue.js";
import { StreamEventSource } from "./stream-event-source.js";
import { StreamLog } from "./stream-log.js";
import { startTokenApi } from "./token-api.js";
import { startTtlSweeper } from "./ttl-sweeper.js";

export { type DeliveryFaultSettings, DeliveryFaults } from "./delivery-faults.js";
export {
  type EventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from "./event-pattern.js";
export type { ConnectionInfo, GatewayFaults, GatewayLimits } from "./gateway/index.js";
export { isLoopbackHost, LocalStackError, PortInUseError } from "./http-server.js";
export type { LambdaFailureRecord } from "./lambda-async.js";
export {
  type HandlerFactory,
  LAMBDA_FUNCTIONS,
  type LambdaFunctionName,
  LambdaTimeoutError,
  TooManyRequestsError,
} from "./lambda-runner.js";
export { createLogger, type LocalLogger, type LogLevel, type LogSink } from "./log.js";
export type { EventBridgeEnvelope } from "./put-events.js";
export { putEventsEntrySize } from "./put-events.js";
export type { RetryPolicy } from "./retrying-dispatcher.js";
export type { LocalCaller } from "./sigv4.js";
export type { StreamFailureRecord } from "./stream-event-source.js";

/**
 * The fixed HS256 secret of local development: well known, so tokens minted by the CLI, the
 * viewer and tests all work against `npm start`. Never use it anywhere else. Override with
 * `TRACE_STREAM_JWT_SECRET` or the `secret` option.
 */
export const LOCAL_DEV_SECRET = "trace-stream-local-development-secret-not-for-production";

export const LOCAL_REGION = "us-east-1";
export const LOCAL_ACCOUNT_ID = "000000000000";
export const DEFAULT_LOCAL_HOST = "127.0.0.1";
export const DEFAULT_LOCAL_PORTS = {
  webSocket: 3001,
  eventBridge: 4010,
  dynamodb: 8000,
  tokenApi: 3002,
} as const;
/**
 * The caller the local token endpoint knows by default: the local credentials (`local`/`local`),
 * as an IAM user of the local account.
 */
export const LOCAL_CALLER: LocalCaller = {
  accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
  secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
  arn: "arn:aws:iam::000000000000:user/local",
};
export const DEFAULT_LOCAL_TABLE = "trace-stream-local";
export const DEFAULT_DEAD_LETTER_QUEUE = "trace-stream-dead-letters";
export const DEFAULT_EMITTER_FAILURE_QUEUE = "trace-stream-emitter-failures";
/** Delays of the local EventBridge's retries; the attempt count and event age are the CDK's. */
export const DEFAULT_LOCAL_RETRY: RetryPolicy = {
  retryAttempts: EMITTER_TARGET_RETRY.retryAttempts,
  maxEventAgeSeconds: EMITTER_TARGET_RETRY.maxEventAgeSeconds,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
};
/**
 * The emitter's asynchronous invocation config, as the CDK sets it (`configureAsyncInvoke`): Lambda
 * retries a function error twice, then sends the event to the on-failure destination. Lambda waits
 * about 1 and 2 minutes between attempts; locally 1 and 2 seconds.
 */
export const DEFAULT_LOCAL_ASYNC_RETRY: RetryPolicy = {
  retryAttempts: 2,
  maxEventAgeSeconds: 6 * 60 * 60,
  baseDelayMs: 1_000,
  maxDelayMs: 2_000,
};

export interface LocalStackOptions {
  /** A loopback address; the local stack never listens beyond this machine. @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks a free port. @default { webSocket: 3001, eventBridge: 4010, dynamodb: 8000, tokenApi: 3002 } */
  readonly ports?:
    | {
        readonly webSocket?: number | undefined;
        readonly eventBridge?: number | undefined;
        readonly dynamodb?: number | undefined;
        readonly tokenApi?: number | undefined;
      }
    | undefined;
  /** @default "local" */
  readonly stage?: string;
  /** @default "local" */
  readonly apiId?: string;
  /** The custom bus name. @default "trace-stream" */
  readonly busName?: string;
  /** The event source the rule matches and the emitter accepts. @default "trace-stream" */
  readonly source?: string;
  /** @default "trace-stream-local" */
  readonly tableName?: string;
  /** Keeps DynamoDB data in this directory across restarts; in memory when absent. */
  readonly dataDir?: string;
  /** HS256 secret of the authorizer. @default TRACE_STREAM_JWT_SECRET, else LOCAL_DEV_SECRET */
  readonly secret?: string;
  /** The token endpoint (`GET /token`, SigV4-signed), as the construct's `tokenEndpoint` option deploys it. */
  readonly tokenEndpoint?: {
    /** Credentials it verifies signatures with, and who each belongs to. @default [LOCAL_CALLER] */
    readonly callers?: readonly LocalCaller[];
    /** The token policy. @default LOCAL_CALLER may ask for every trace */
    readonly grants?: TokenGrantRules;
    /** @default 900 */
    readonly defaultTtlSeconds?: number;
    /** @default 3600 */
    readonly maxTtlSeconds?: number;
  };
  readonly gatewayLimits?: Partial<GatewayLimits>;
  /** The WebSocket stage's route throttles. @default DEFAULT_STAGE_THROTTLE (the CDK stack's) */
  readonly throttle?: StageThrottle;
  /** TTL sweep period; 0 sweeps only when `sweepExpired()` is called. @default 60 000 */
  readonly sweepIntervalMs?: number;
  /** Clock of the TTL sweeper, event times and ages, and the queue (epoch ms). @default Date.now */
  readonly now?: () => number;
  /** Retry policy of the EventBridge target (for invocations that fail). @default DEFAULT_LOCAL_RETRY */
  readonly retry?: Partial<RetryPolicy>;
  /** The emitter's asynchronous invocation config (for function errors). @default DEFAULT_LOCAL_ASYNC_RETRY */
  readonly asyncRetry?: Partial<RetryPolicy>;
  readonly faults?: {
    readonly gateway?: Partial<GatewayFaults>;
    readonly eventBridge?: Partial<DeliveryFaultSettings>;
  };
  /** EVENT_RETENTION_DAYS of the emitter. @default 7 */
  readonly eventRetentionDays?: number;
  /** EMITTER_CONCURRENCY of the emitter. @default the emitter's default */
  readonly emitterConcurrency?: number;
  /**
   * How events reach viewers, as the construct's `fanOut`: "direct", the emitter posts each event;
   * "stream", the emitter stores it and the fan-out function posts batches from the table's
   * stream (DynamoDB Streams, emulated in front of dynalite). @default "direct"
   */
  readonly fanOut?: "direct" | "stream";
  /** The stream mode's event source mapping. @default FAN_OUT_STREAM, 4 shards */
  readonly streamEventSource?: Partial<FanOutStreamSettings> & {
    /** Shards of the emulated stream (one batch in flight per shard). @default 4 */
    readonly shards?: number;
    /** Wait before retry n of a failed batch. @default 100 ms × 2^(n-1), at most 2 s */
    readonly retryDelayMs?: (retry: number) => number;
  };
  /**
   * Reserved concurrency per function. @default FUNCTION_SPECS' (the CDK stack's: the emitter's
   * EMITTER_RESERVED_CONCURRENCY)
   */
  readonly reservedConcurrency?: Partial<Record<LambdaFunctionName, number>>;
  /** Timeouts in seconds that replace FUNCTION_SPECS' (tests that need a short one). */
  readonly functionTimeouts?: Partial<Record<LambdaFunctionName, number>>;
  /** MAX_SUBSCRIBERS_PER_TRACE of connect. @default DEFAULT_MAX_SUBSCRIBERS_PER_TRACE (1000) */
  readonly maxSubscribersPerTrace?: number;
  /**
   * RUNS_WATCHERS_CACHE_MS of the emitter: how long it reuses the runs watchers it read.
   * @default the emitter's default (2000)
   */
  readonly runsWatchersCacheMs?: number;
  /** Level of the stack's lines and of the handlers' Powertools logs. @default "info" */
  readonly logLevel?: LogLevel;
  /** Shorthand for `logLevel: "silent"`. */
  readonly quiet?: boolean;
  /** Where the stack's own lines go. @default the console */
  readonly logSink?: LogSink;
  /** Stand-ins for `createHandler` of some functions (tests); the rest load from `lambdas/`. */
  readonly handlers?: Partial<Record<LambdaFunctionName, HandlerFactory>>;
}

export interface LocalStackEndpoints {
  /** ws://host:port/stage */
  readonly webSocketUrl: string;
  /** http://host:port/stage, for ApiGatewayManagementApiClient. */
  readonly managementEndpoint: string;
  /** http://host:port, for EventBridgeClient. */
  readonly eventBridge: string;
  /** http://host:port, for DynamoDBClient. */
  readonly dynamodb: string;
  /** http://host:port, for SQSClient (the same server as EventBridge). */
  readonly sqs: string;
  /** EventBridge's dead-letter queue, which the emitter also sends rejected events to. */
  readonly deadLetterQueueUrl: string;
  /**
   * The emitter's on-failure destination: events whose invocations kept failing; in stream mode
   * also the fan-out's, for batches that kept failing.
   */
  readonly emitterFailureQueueUrl: string;
  /** http://host:port/token: the token endpoint (sign requests with SigV4, service "execute-api"). */
  readonly tokenEndpoint: string;
}

/** A message in one of the queues; `payload` is the body parsed as JSON when it is JSON. */
export interface DeadLetter extends QueuedMessage {
  readonly payload: unknown;
}

export interface LocalStack {
  readonly endpoints: LocalStackEndpoints;
  readonly region: string;
  readonly accountId: string;
  readonly tableName: string;
  readonly fanOut: "direct" | "stream";
  /** The table's stream ARN (stream mode only). */
  readonly streamArn?: string;
  readonly busName: string;
  readonly source: string;
  readonly secret: string;
  /** A viewer token for these trace ids (entries ending in `*` are prefixes). @default ttl 3600 s */
  mintToken(traceIds: readonly string[] | string, ttlSeconds?: number): Promise<string>;
  /** The WebSocket URL with `traceId` and `token` in the query string. */
  connectUrl(traceId: string, token: string): string;
  /** Live fault knobs: change a field and the next delivery or connection sees it. */
  readonly faults: { readonly gateway: GatewayFaults; readonly eventBridge: DeliveryFaults };
  /** Every message in the dead-letter queue, without receiving it. */
  deadLetters(): DeadLetter[];
  /**
   * Every message in the emitter's on-failure queue (Lambda failure records whose `payload` is a
   * `LambdaFailureRecord`), without receiving it.
   */
  emitterFailures(): DeadLetter[];
  /** The WebSocket connections open now. */
  connections(): ConnectionInfo[];
  /** Runs a TTL sweep now; resolves with the number of items deleted. */
  sweepExpired(): Promise<number>;
  /**
   * Resolves when EventBridge has no delivery held, waiting for a retry, or in flight, and the
   * emitter has no asynchronous invocation running or waiting for a retry.
   */
  deliveriesIdle(): Promise<void>;
  /** Invokes one of the functions as the gateway and the bus do (for tests and tools). */
  invoke(functionName: LambdaFunctionName, event: unknown): Promise<unknown>;
  /** Executions of a function running now, and asynchronous invocations queued for one. */
  lambdaConcurrency(functionName: LambdaFunctionName): { readonly running: number; readonly queued: number };
  /** Invokes a function asynchronously, as EventBridge invokes the emitter (retries, on-failure queue). */
  invokeAsync(functionName: "emitter", event: unknown): void;
  readonly log: LocalLogger;
  /** Stops every service and closes every socket; safe to call more than once. */
  stop(): Promise<void>;
}

type HandlerModule = { createHandler: HandlerFactory };

const HANDLER_MODULES: Record<LambdaFunctionName, () => Promise<HandlerModule>> = {
  authorizer: () => import("../lambdas/authorizer/handler.js"),
  connect: () => import("../lambdas/connect/handler.js"),
  disconnect: () => import("../lambdas/disconnect/handler.js"),
  resume: () => import("../lambdas/resume/handler.js"),
  default: () => import("../lambdas/default/handler.js"),
  emitter: () => import("../lambdas/emitter/handler.js"),
  "fan-out": () => import("../lambdas/fan-out/handler.js"),
  "failure-recorder": () => import("../lambdas/failure-recorder/handler.js"),
  token: () => import("../lambdas/token/handler.js"),
};

/**
 * Starts the whole system on this machine: DynamoDB (dynalite) with the table and a TTL sweeper,
 * the EventBridge and SQS emulators, the WebSocket API with its @connections endpoint, and the
 * Lambda handlers behind them, configured exactly as the CDK stack configures them.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? DEFAULT_LOCAL_HOST;
  if (!isLoopbackHost(host)) {
    throw new LocalStackError(`host must be a loopback address (127.0.0.1, ::1, localhost), got "${host}"`);
  }
  const secret = options.secret ?? process.env.TRACE_STREAM_JWT_SECRET ?? LOCAL_DEV_SECRET;
  if (secret.length < 32) {
    throw new LocalStackError(
      "the JWT secret must be at least 32 characters (TRACE_STREAM_JWT_SECRET or `secret`)",
    );
  }
  const logLevel: LogLevel = options.quiet ? "silent" : (options.logLevel ?? "info");
  const log = createLogger(logLevel, options.logSink);
  const now = options.now ?? Date.now;
  const region = LOCAL_REGION;
  const accountId = LOCAL_ACCOUNT_ID;
  const stage = options.stage ?? "local";
  const busName = options.busName ?? DEFAULT_EVENT_SOURCE;
  const source = options.source ?? DEFAULT_EVENT_SOURCE;
  const tableName = options.tableName ?? DEFAULT_LOCAL_TABLE;
  const functionNamePrefix = "trace-stream-local";
  const retry: RetryPolicy = { ...DEFAULT_LOCAL_RETRY, ...options.retry };
  const asyncRetry: RetryPolicy = { ...DEFAULT_LOCAL_ASYNC_RETRY, ...options.asyncRetry };
  const pattern = traceEventPattern(source);
  validateEventPattern(pattern);
  const token = tokenEndpointSettings(options.tokenEndpoint);

  // Stop order: no new PutEvents, then let deliveries in flight finish, then close connections
  // (their $disconnect still reaches DynamoDB), then the sweeper and DynamoDB itself.
  const parts = [
    "tokenApi",
    "aws",
    "bus",
    "emitterAsync",
    "streamSource",
    "journal",
    "gateway",
    "sweeper",
    "streamFront",
    "streamLog",
    "dynamo",
  ] as const;
  const closers: Partial<Record<(typeof parts)[number], () => Promise<void>>> = {};
  const unwind = async () => {
    for (const part of parts) {
      const close = closers[part];
      delete closers[part];
      await close?.().catch((error: unknown) => log.warn(`stop ${part}: ${describeError(error)}`));
    }
  };

  const fanOut = options.fanOut ?? "direct";
  if (fanOut !== "direct" && fanOut !== "stream") {
    throw new LocalStackError(`fanOut must be "direct" or "stream", got "${String(fanOut)}"`);
  }
  const dynamoPort = options.ports?.dynamodb ?? DEFAULT_LOCAL_PORTS.dynamodb;
  try {
    const dynamo = await startDynamoDb({
      host,
      // In stream mode the stream front takes the DynamoDB port, and dynalite sits behind it.
      port: fanOut === "stream" ? 0 : dynamoPort,
      tableName,
      region,
      dataDir: options.dataDir,
      log: log.child("dynamodb"),
    });
    closers.dynamo = dynamo.close;
    // Opened after DynamoDB, which holds the data directory's lock.
    const journal = options.dataDir ? await DeliveryJournal.open(options.dataDir) : undefined;
    if (journal) closers.journal = () => journal.close();

    let dynamoEndpoint = dynamo.endpoint;
    let sweeperClient = dynamo.documentClient;
    let streamLog: StreamLog | undefined;
    const streamArn = `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}/stream/1970-01-01T00:00:00.000`;
    if (fanOut === "stream") {
      const shards = options.streamEventSource?.shards ?? 4;
      if (!Number.isInteger(shards) || shards < 1 || shards > 64) {
        throw new LocalStackError(`streamEventSource.shards must be an integer from 1 to 64, got ${shards}`);
      }
      const openLog = await StreamLog.open({
        dir: options.dataDir,
        shardCount: shards,
        streamArn,
        region,
        partitionKey: PARTITION_KEY,
        now,
      });
      streamLog = openLog;
      closers.streamLog = () => openLog.close();
      const front = await startStreamFront({
        host,
        port: dynamoPort,
        target: dynamo.endpoint,
        tableName,
        keySchema: [PARTITION_KEY, SORT_KEY],
        region,
        credentials: LOCAL_CREDENTIALS,
        stream: openLog,
        log: log.child("dynamodb"),
      });
      dynamoEndpoint = front.endpoint;
      // TTL deletes go through the front too: on AWS they are on the stream (as REMOVE records).
      const frontClient = DynamoDBDocumentClient.from(
        new DynamoDBClient({ endpoint: front.endpoint, region, credentials: LOCAL_CREDENTIALS }),
      );
      sweeperClient = frontClient;
      closers.streamFront = async () => {
        frontClient.destroy();
        await front.close();
      };
    }

    const sweeper = startTtlSweeper({
      documentClient: sweeperClient,
      tableName,
      now,
      intervalMs: options.sweepIntervalMs ?? 60_000,
      log: log.child("ttl"),
    });
    closers.sweeper = sweeper.stop;

    let gateway: WebSocketGateway | undefined;
    let awsUrl: string | undefined;
    const queue = new LocalQueue(
      DEFAULT_DEAD_LETTER_QUEUE,
      `arn:aws:sqs:${region}:${accountId}:${DEFAULT_DEAD_LETTER_QUEUE}`,
      now,
    );
    const failureQueue = new LocalQueue(
      DEFAULT_EMITTER_FAILURE_QUEUE,
      `arn:aws:sqs:${region}:${accountId}:${DEFAULT_EMITTER_FAILURE_QUEUE}`,
      now,
    );
    const urlOf = (q: LocalQueue) => `${awsUrl}/${accountId}/${q.name}`;
    const queueUrl = () => urlOf(queue);

    const runner: LambdaRunner = createLambdaRunner({
      functionNamePrefix,
      region,
      account: accountId,
      log: log.child("lambda"),
      load: async (name) => options.handlers?.[name] ?? (await HANDLER_MODULES[name]()).createHandler,
      runtime: { now },
      reservedConcurrency: {
        ...Object.fromEntries(
          LAMBDA_FUNCTIONS.map((name) => [name, FUNCTION_SPECS[name].reservedConcurrency]),
        ),
        ...options.reservedConcurrency,
      },
      config: (name) =>
        lambdaFunctionConfig(name, {
          region,
          accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
          secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
          tableName,
          eventSource: source,
          eventRetentionDays: options.eventRetentionDays ?? DEFAULT_EVENT_RETENTION_DAYS,
          emitterConcurrency: options.emitterConcurrency ?? DEFAULT_EMITTER_CONCURRENCY,
          fanOut,
          maxSubscribersPerTrace: options.maxSubscribersPerTrace ?? DEFAULT_MAX_SUBSCRIBERS_PER_TRACE,
          runsWatchersCacheMs: options.runsWatchersCacheMs,
          jwtSecret: secret,
          tokenGrants: JSON.stringify(token.grants),
          tokenDefaultTtlSeconds: token.defaultTtlSeconds,
          tokenMaxTtlSeconds: token.maxTtlSeconds,
          logLevel,
          functionNamePrefix,
          ...(options.functionTimeouts ? { timeoutSeconds: options.functionTimeouts } : {}),
          endpoints: () => {
            if (!gateway || !awsUrl)
              throw new LocalStackError("a function started before the local stack finished starting");
            return {
              dynamodb: dynamoEndpoint,
              sqs: awsUrl,
              connections: gateway.managementEndpoint,
              deadLetterQueueUrl: queueUrl(),
              failureQueueUrl: urlOf(failureQueue),
            };
          },
        }),
    });

    const emitterArn = `arn:aws:lambda:${region}:${accountId}:function:${functionNamePrefix}-emitter`;
    const emitterAsync = new AsyncInvoker({
      functionArn: emitterArn,
      invoke: (event, requestId) => runner.invoke("emitter", event, { requestId, invocationType: "Event" }),
      retry: asyncRetry,
      onSettled: (event) => journal?.settle((event as EventBridgeEnvelope).id),
      // As in the CDK stack, the destination is the failure recorder, which redacts the record
      // (Lambda puts the raw request payload in it) before queueing it. Should the recorder fail,
      // the record is still queued rather than lost, redacted here, never raw.
      onFailure: async (record) => {
        try {
          await runner.invoke("failure-recorder", record, { invocationType: "Event" });
        } catch (error) {
          log.child("lambda").error(`failure recorder: ${describeError(error)}`);
          failureQueue.send(fallbackFailureBody(record));
        }
      },
      now,
      log: log.child("lambda"),
    });
    closers.emitterAsync = () => emitterAsync.close();

    // The stream mode's event source mapping, as the construct deploys it (lib/fan-out-stream.ts).
    let streamSource: StreamEventSource | undefined;
    if (streamLog) {
      const { shards: _shards, retryDelayMs, ...settings } = options.streamEventSource ?? {};
      const source = new StreamEventSource({
        stream: streamLog,
        settings: { ...FAN_OUT_STREAM, ...settings },
        filter: FAN_OUT_FILTER_PATTERN as never,
        invoke: (event) => runner.invoke("fan-out", event, { invocationType: "Event" }),
        // As in the CDK stack: the failure queue, which holds no event data (only the batch's place).
        onFailure: (record) => {
          failureQueue.send(JSON.stringify(record));
        },
        functionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionNamePrefix}-fan-out`,
        ...(retryDelayMs ? { retryDelayMs } : {}),
        now,
        log: log.child("lambda"),
      });
      streamSource = source;
      closers.streamSource = () => source.close();
    }

    const eventBridgeFaults = new DeliveryFaults(options.faults?.eventBridge);
    const bus = new LocalEventBus({
      name: busName,
      rule: {
        name: `${busName}-to-emitter`,
        arn: `arn:aws:events:${region}:${accountId}:rule/${busName}/${busName}-to-emitter`,
        pattern,
        target: {
          id: "emitter",
          arn: emitterArn,
          // EventBridge invokes Lambda asynchronously: the invoke is accepted, the run comes later.
          invoke: async (envelope) => emitterAsync.invokeAsync(envelope),
        },
      },
      retry,
      faults: eventBridgeFaults,
      deadLetter: (message) =>
        queue.send(
          message.body,
          Object.fromEntries(
            Object.entries(message.attributes).map(([name, value]) => [
              name,
              { DataType: "String", StringValue: value },
            ]),
          ),
        ),
      onDeadLettered: (id) => journal?.settle(id),
      now,
      log: log.child("eventbridge"),
    });
    closers.bus = () => bus.close();

    const stopping = new AbortController();
    const awsServer = await startAwsApiServer({
      host,
      port: options.ports?.eventBridge ?? DEFAULT_LOCAL_PORTS.eventBridge,
      putEvents: createPutEvents(
        { busName, region, account: accountId, now },
        bus,
        log.child("eventbridge"),
        journal,
      ),
      sqs: new SqsApi([queue, failureQueue], urlOf, stopping.signal),
      log: log.child("aws"),
    });
    awsUrl = awsServer.url;
    closers.aws = async () => {
      // Long polls answer (empty) before their sockets close.
      stopping.abort();
      await new Promise((resolve) => setImmediate(resolve));
      await awsServer.close();
    };

    const gatewayLog = log.child("gateway");
    const webSocketPort = options.ports?.webSocket ?? DEFAULT_LOCAL_PORTS.webSocket;
    gateway = await startWebSocketGateway({
      host,
      port: webSocketPort,
      stage,
      apiId: options.apiId ?? "local",
      region,
      accountId,
      invoke: (name, event) => runner.invoke(name, event),
      limits: options.gatewayLimits,
      ...(options.throttle ? { throttle: options.throttle } : {}),
      faults: options.faults?.gateway,
      log: (level, message, data) => gatewayLog[level](data ? `${message} ${JSON.stringify(data)}` : message),
    }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
        throw new PortInUseError("WebSocket API", host, webSocketPort, { cause: error });
      }
      throw error;
    });
    const openGateway = gateway;
    closers.gateway = () => openGateway.close();

    const tokenApi = await startTokenApi({
      host,
      port: options.ports?.tokenApi ?? DEFAULT_LOCAL_PORTS.tokenApi,
      region,
      accountId,
      apiId: `${options.apiId ?? "local"}-token`,
      callers: token.callers,
      invoke: (event) => runner.invoke("token", event),
      log: log.child("token-api"),
    });
    closers.tokenApi = tokenApi.close;

    const endpoints: LocalStackEndpoints = {
      webSocketUrl: gateway.url,
      managementEndpoint: gateway.managementEndpoint,
      eventBridge: awsServer.url,
      dynamodb: dynamoEndpoint,
      sqs: awsServer.url,
      deadLetterQueueUrl: queueUrl(),
      emitterFailureQueueUrl: urlOf(failureQueue),
      tokenEndpoint: tokenApi.url,
    };
    log.debug(`local stack up: ${JSON.stringify(endpoints)}`);
    // Events PutEvents acknowledged before the last stop (or crash) and never delivered.
    const unsettled = journal?.unsettled() ?? [];
    if (unsettled.length > 0) {
      log.info(`delivering ${unsettled.length} events accepted before the last stop`);
      for (const envelope of unsettled) bus.publish(envelope);
    }

    let stopped: Promise<void> | undefined;
    return {
      endpoints,
      region,
      accountId,
      tableName,
      fanOut,
      ...(streamLog ? { streamArn } : {}),
      busName,
      source,
      secret,
      mintToken: (traceIds, ttlSeconds) =>
        mintViewerToken({ secret, traces: typeof traceIds === "string" ? [traceIds] : traceIds, ttlSeconds }),
      connectUrl: (traceId, token) =>
        `${endpoints.webSocketUrl}?traceId=${encodeURIComponent(traceId)}&token=${encodeURIComponent(token)}`,
      faults: { gateway: openGateway.faults, eventBridge: eventBridgeFaults },
      deadLetters: () => queue.peek().map((message) => ({ ...message, payload: parseJson(message.body) })),
      emitterFailures: () =>
        failureQueue.peek().map((message) => ({ ...message, payload: parseJson(message.body) })),
      connections: () => openGateway.connections(),
      sweepExpired: () => sweeper.sweep(),
      deliveriesIdle: async () => {
        await bus.idle();
        await emitterAsync.idle();
        await streamSource?.idle();
      },
      invoke: (name, event) => runner.invoke(name, event),
      lambdaConcurrency: (name) => runner.concurrency(name),
      invokeAsync: (_name, event) => emitterAsync.invokeAsync(event),
      log,
      stop: () => {
        stopped ??= unwind().then(() => log.debug("local stack stopped"));
        return stopped;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** The token endpoint's callers, policy and lifetimes, checked as the function would check them. */
function tokenEndpointSettings(settings: LocalStackOptions["tokenEndpoint"]) {
  const callers = settings?.callers ?? [LOCAL_CALLER];
  const grants = settings?.grants ?? [{ principals: callers.map((caller) => caller.arn), traces: ["*"] }];
  const parsed = TokenGrantRulesSchema.safeParse(grants);
  if (!parsed.success) {
    throw new LocalStackError(`tokenEndpoint.grants is not a valid token policy: ${parsed.error.message}`);
  }
  const maxTtlSeconds = settings?.maxTtlSeconds ?? DEFAULT_MAX_TOKEN_TTL_SECONDS;
  const defaultTtlSeconds = settings?.defaultTtlSeconds ?? Math.min(DEFAULT_TOKEN_TTL_SECONDS, maxTtlSeconds);
  return { callers, grants: parsed.data, maxTtlSeconds, defaultTtlSeconds };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
