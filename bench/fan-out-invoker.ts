/**
 * The fan-out row's two designs in a process of their own (forked by ./fan-out.ts): our emitter
 * core and the sample's broadcast, each with its own SDK clients, metered by DynamoDB's consumed
 * capacity. On AWS the function that posts and API Gateway that relays are different machines;
 * here they are different processes, so each design's own CPU per post (signing and a keep-alive
 * request for ours, the SDK's middleware for the sample) is what separates them, rather than both
 * queueing behind the emulator on one thread. Times are absolute (`performance.timeOrigin +
 * performance.now()`), like the subscriber pool's receipts.
 */
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_EMITTER_CONCURRENCY } from "../lambdas/emitter/handler.js";
import { managementClient } from "../lambdas/shared/aws-clients.js";
import { signedConnectionGateway } from "../lambdas/shared/signed-connection-gateway.js";
import { benchEmitter } from "./bench-emitter.js";
import { benchEvent, envelopeOf } from "./bench-events.js";
import { DynamoMeter, type DynamoUsage, usageSince } from "./dynamo-meter.js";
import { makeSampleBroadcast } from "./sample-baseline.js";

export interface InvokerSetup {
  readonly dynamodbEndpoint: string;
  readonly managementEndpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly tableName: string;
  readonly source: string;
}

export type InvokerRequest =
  | { readonly type: "setup"; readonly setup: InvokerSetup }
  | {
      readonly type: "emit";
      readonly kind: "ours" | "baseline";
      readonly traceId: string;
      readonly seq: number;
    };

export type InvokerReply =
  | { readonly type: "ready"; readonly socketQueueWarnings: number }
  | {
      readonly type: "emitted";
      readonly startedAt: number;
      readonly handlerDoneAt: number;
      readonly usage: DynamoUsage;
      readonly socketQueueWarnings: number;
    }
  | { readonly type: "failed"; readonly message: string };

const now = () => performance.timeOrigin + performance.now();

/** The SDK warns once per burst when requests queue for its 50 sockets (the sample's Promise.all). */
let socketQueueWarnings = 0;
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].startsWith("@smithy/node-http-handler:WARN"))
    socketQueueWarnings++;
  else warn(...args);
};

function designs(setup: InvokerSetup) {
  const { region, credentials } = setup;
  const raw = new DynamoDBClient({ endpoint: setup.dynamodbEndpoint, region, credentials });
  const meter = new DynamoMeter();
  meter.attach(raw);
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const env = {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
  const emit = benchEmitter(dynamo, setup.tableName, setup.source, {
    gateway: signedConnectionGateway({
      endpoint: setup.managementEndpoint,
      client: managementClient(setup.managementEndpoint, env),
      sockets: DEFAULT_EMITTER_CONCURRENCY,
    }),
  });
  // The SDK's default client, as the sample builds it (3 attempts).
  const management = new ApiGatewayManagementApiClient({
    endpoint: setup.managementEndpoint,
    region,
    credentials,
  });
  const broadcast = makeSampleBroadcast({ dynamo, management });
  return { meter, emit, broadcast, source: setup.source };
}

let ready: ReturnType<typeof designs> | undefined;

async function handle(request: InvokerRequest): Promise<InvokerReply> {
  if (request.type === "setup") {
    ready = designs(request.setup);
    return { type: "ready", socketQueueWarnings };
  }
  if (!ready) throw new Error("emit before setup");
  const event = benchEvent(request.traceId, request.seq);
  const before = ready.meter.snapshot();
  const startedAt = now();
  if (request.kind === "ours") await ready.emit(envelopeOf(event, ready.source));
  else await ready.broadcast(event);
  const handlerDoneAt = now();
  return {
    type: "emitted",
    startedAt,
    handlerDoneAt,
    usage: usageSince(ready.meter.snapshot(), before),
    socketQueueWarnings,
  };
}

process.once("disconnect", () => process.exit(0));
process.on("message", (request: InvokerRequest) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) =>
      process.send?.({
        type: "failed",
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies InvokerReply),
  );
});
