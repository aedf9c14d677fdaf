import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct, Node } from "constructs";
import type { TraceStreamTokenEndpointOptions } from "./token-endpoint.js";
import { TraceStreamApi, type TraceStreamApiProps, TraceStreamAuth } from "./trace-stream-api.js";

export interface TraceStreamStackProps extends StackProps {
  /**
   * Options of the TraceStreamApi construct.
   * @default - the construct's defaults (HS256 secret, source "trace-stream", stage "prod", ...)
   */
  readonly api?: TraceStreamApiProps;
}

/** One TraceStreamApi with the outputs producers, viewers and operators need. */
export class TraceStreamStack extends Stack {
  readonly api: TraceStreamApi;

  constructor(scope: Construct, id: string, props: TraceStreamStackProps = {}) {
    super(scope, id, {
      description: "trace-stream: live AI-agent trace events over a serverless WebSocket API",
      ...props,
    });
    const api = new TraceStreamApi(this, "TraceStream", {
      ...props.api,
      ...this.alarmTopicFromContext(props.api),
    });
    this.api = api;

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output("WebSocketUrl", api.webSocketUrl, "WebSocket stage URL: connect with ?traceId=...&token=...");
    output("ManagementEndpoint", api.callbackUrl, "@connections (management API) endpoint of the stage");
    output("EventBusName", api.eventBus.eventBusName, "Bus producers put trace events on");
    output("EventBusArn", api.eventBus.eventBusArn, "ARN of the trace event bus");
    output("EventSource", api.eventSource, "Source producers must put on trace events");
    output("TableName", api.table.tableName, "DynamoDB table of subscriptions and events");
    output("DeadLetterQueueUrl", api.deadLetterQueue.queueUrl, "Rejected and undeliverable trace events");
    output("DeadLetterQueueArn", api.deadLetterQueue.queueArn, "ARN of the dead-letter queue");
    output(
      "EmitterFailureQueueUrl",
      api.asyncFailureQueue.queueUrl,
      "Emitter invocations that failed after retries",
    );
    if (api.jwtSecret) {
      output("JwtSecretArn", api.jwtSecret.secretArn, "Secrets Manager secret holding the HS256 token key");
    }
    if (api.viewer) {
      output("ViewerUrl", api.viewer.url, "The hosted viewer: open ?traceId=T#token=JWT");
      output(
        "ViewerBucketName",
        api.viewer.bucket.bucketName,
        "Private bucket holding the viewer build and config.json",
      );
      output(
        "ViewerDistributionId",
        api.viewer.distribution.distributionId,
        "CloudFront distribution of the viewer",
      );
    }
    if (api.tokenEndpoint) {
      output(
        "TokenEndpointUrl",
        api.tokenEndpoint.url,
        "Viewer tokens: SigV4-signed GET ?traceId=T (service execute-api)",
      );
      output(
        "TokenEndpointRouteArn",
        api.tokenEndpoint.routeArn,
        "Resource to allow execute-api:Invoke on, for callers of the token endpoint",
      );
    }
    if (api.alarmTopic) output("AlarmTopicArn", api.alarmTopic.topicArn, "SNS topic every alarm notifies");
  }

  /** `-c alarmTopicArn=...`: an existing topic (imported into this stack) unless props name one. */
  private alarmTopicFromContext(
    props: TraceStreamApiProps | undefined,
  ): Pick<TraceStreamApiProps, "alarmTopic"> {
    const arn = contextString(this.node, CONTEXT_KEYS.alarmTopicArn);
    if (arn === undefined || props?.alarmTopic) return {};
    if (!SNS_TOPIC_ARN_PATTERN.test(arn)) {
      throw new Error(
        `context alarmTopicArn must be an SNS topic ARN (arn:aws:sns:region:account:name), got "${arn}"`,
      );
    }
    return { alarmTopic: sns.Topic.fromTopicArn(this, "AlarmTopic", arn) };
  }
}

const SNS_TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/**
 * Context keys read by `apiPropsFromContext` (`cdk deploy -c key=value`, or `context` in cdk.json).
 */
export const CONTEXT_KEYS = {
  authMode: "authMode",
  jwksUrl: "jwksUrl",
  jwtIssuer: "jwtIssuer",
  jwtAudience: "jwtAudience",
  jwtTokenUse: "jwtTokenUse",
  eventSource: "eventSource",
  stageName: "stageName",
  eventRetentionDays: "eventRetentionDays",
  removalPolicy: "removalPolicy",
  apiGatewayCloudWatchRole: "apiGatewayCloudWatchRole",
  schemaRegistry: "schemaRegistry",
  alarmEmail: "alarmEmail",
  tracing: "tracing",
  logSampleRate: "logSampleRate",
  /** Read by TraceStreamStack (an imported topic needs the stack as its scope). */
  alarmTopicArn: "alarmTopicArn",
  tokenGrants: "tokenGrants",
  hostedViewer: "hostedViewer",
  fanOut: "fanOut",
} as const;

/**
 * `tokenGrants`: the token policy as JSON (a string from `-c`, or the array itself in cdk.json).
 * Its rules are checked by the construct.
 */
function contextGrants(node: Node): TraceStreamTokenEndpointOptions["grants"] | undefined {
  const value: unknown = node.tryGetContext(CONTEXT_KEYS.tokenGrants);
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") return value as TraceStreamTokenEndpointOptions["grants"];
  try {
    return JSON.parse(value) as TraceStreamTokenEndpointOptions["grants"];
  } catch {
    throw new Error(
      `context tokenGrants must be JSON like '[{"principals":["arn:aws:iam::123456789012:role/viewer"],"traces":["team-a/*"]}]', got ${JSON.stringify(value.slice(0, 80))}`,
    );
  }
}

function contextString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
    throw new Error(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  }
  return String(value);
}

function contextBoolean(value: string | undefined, key: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value !== "true" && value !== "false") {
    throw new Error(`context ${key} must be true or false, got "${value}"`);
  }
  return value === "true";
}

/**
 * Construct options from CDK context, failing fast with what to set:
 * `authMode` (`hs256` default, or `oidc` with `jwksUrl`, `jwtIssuer`, `jwtAudience` and optional
 * `jwtTokenUse`),
 * `eventSource`, `stageName`, `eventRetentionDays`, `removalPolicy` (`retain` default or `destroy`),
 * `apiGatewayCloudWatchRole` (`true` default, `false` when the account already has one),
 * `schemaRegistry` (`false` in regions without the EventBridge Schema Registry), `alarmEmail`,
 * `tracing` (`false` default), `logSampleRate` (0 to 1).
 * (`alarmTopicArn` is read by TraceStreamStack.)
 * `tokenGrants` (JSON token policy: deploys the token endpoint), `hostedViewer` (`true` hosts
 * web/dist on CloudFront; build it first).
 */
export function apiPropsFromContext(node: Node): TraceStreamApiProps {
  const get = (key: keyof typeof CONTEXT_KEYS) => contextString(node, CONTEXT_KEYS[key]);
  const authMode = get("authMode") ?? "hs256";
  let auth: TraceStreamAuth;
  if (authMode === "hs256") {
    const issuer = get("jwtIssuer");
    const audience = get("jwtAudience");
    auth = TraceStreamAuth.hs256({ ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) });
  } else if (authMode === "oidc") {
    const jwksUrl = get("jwksUrl");
    const issuer = get("jwtIssuer");
    const audience = get("jwtAudience");
    if (!jwksUrl || !issuer || !audience) {
      throw new Error(
        "authMode=oidc needs -c jwksUrl=https://.../jwks.json -c jwtIssuer=https://... -c jwtAudience=<client id or API identifier> (jwtTokenUse=access|id optional)",
      );
    }
    const tokenUse = get("jwtTokenUse");
    if (tokenUse !== undefined && tokenUse !== "access" && tokenUse !== "id") {
      throw new Error(`context jwtTokenUse must be "access" or "id", got "${tokenUse}"`);
    }
    auth = TraceStreamAuth.oidc({ jwksUrl, issuer, audience, ...(tokenUse ? { tokenUse } : {}) });
  } else {
    throw new Error(`context authMode must be "hs256" or "oidc", got "${authMode}"`);
  }

  const props: { -readonly [K in keyof TraceStreamApiProps]: TraceStreamApiProps[K] } = { auth };
  const eventSource = get("eventSource");
  if (eventSource) props.eventSource = eventSource;
  const stageName = get("stageName");
  if (stageName) props.stageName = stageName;
  const retention = get("eventRetentionDays");
  if (retention !== undefined) {
    const days = Number(retention);
    if (!Number.isInteger(days) || days <= 0) {
      throw new Error(
        `context eventRetentionDays must be a positive whole number of days, got "${retention}"`,
      );
    }
    props.eventRetention = Duration.days(days);
  }
  const removal = get("removalPolicy");
  if (removal !== undefined) {
    if (removal !== "retain" && removal !== "destroy") {
      throw new Error(`context removalPolicy must be "retain" or "destroy", got "${removal}"`);
    }
    props.removalPolicy = removal === "destroy" ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
  }
  const logRole = contextBoolean(get("apiGatewayCloudWatchRole"), "apiGatewayCloudWatchRole");
  if (logRole !== undefined) props.apiGatewayCloudWatchRole = logRole;
  const schemaRegistry = contextBoolean(get("schemaRegistry"), "schemaRegistry");
  if (schemaRegistry !== undefined) props.schemaRegistry = schemaRegistry;
  const alarmEmail = get("alarmEmail");
  if (alarmEmail) props.alarmEmail = alarmEmail;
  const tracing = contextBoolean(get("tracing"), "tracing");
  if (tracing !== undefined) props.tracing = tracing;
  const sampleRate = get("logSampleRate");
  if (sampleRate !== undefined) {
    const rate = Number(sampleRate);
    if (!(rate >= 0 && rate <= 1)) {
      throw new Error(`context logSampleRate must be a number from 0 to 1, got "${sampleRate}"`);
    }
    props.logSampleRate = rate;
  }
  const grants = contextGrants(node);
  if (grants !== undefined) props.tokenEndpoint = { grants };
  const fanOut = get("fanOut");
  if (fanOut !== undefined) {
    if (fanOut !== "direct" && fanOut !== "stream") {
      throw new Error(`context fanOut must be "direct" or "stream", got "${fanOut}"`);
    }
    props.fanOut = fanOut;
  }
  const hostedViewer = get("hostedViewer");
  if (hostedViewer !== undefined) {
    if (hostedViewer !== "true" && hostedViewer !== "false") {
      throw new Error(`context hostedViewer must be true or false, got "${hostedViewer}"`);
    }
    if (hostedViewer === "true") props.viewer = {};
  }
  return props;
}
