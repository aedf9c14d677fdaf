import { Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { z } from "zod";
import { ENV } from "../lambdas/shared/env-names.js";
import { MIN_TOKEN_TTL_SECONDS, type TokenGrantRule, TokenGrantRules } from "../protocol/token-api.js";

/** Path of the token route (`GET {url}?traceId=...`). */
export const TOKEN_ROUTE_PATH = "/token";

/**
 * Lambda caps a function's environment at 4 KB; the policy travels in it (TOKEN_GRANTS), so it
 * must leave room for the other variables.
 */
const MAX_POLICY_BYTES = 3000;

/** The token endpoint of `TraceStreamApiProps.tokenEndpoint`. */
export interface TraceStreamTokenEndpointOptions {
  /**
   * The token policy: each rule lets callers matching one of its `principals` (IAM ARNs, `*`
   * matching any characters; a role's ARN matches every session of the role) ask for tokens to the
   * rule's `traces` (ids, or prefixes ending in `*`). A caller may ask for any subset of the union
   * of its rules' traces; anything else is refused with 403. The caller must also be allowed
   * `execute-api:Invoke` on the route by IAM (`grantInvoke`, or its own policies).
   */
  readonly grants: readonly TokenGrantRule[];
  /**
   * Lifetime of a token when the caller names none (`ttlSeconds`).
   * @default Duration.minutes(15)
   */
  readonly defaultLifetime?: Duration;
  /**
   * Longest lifetime a caller may ask for; at most the authorizer's `maxTokenLifetime`.
   * @default Duration.hours(1)
   */
  readonly maxLifetime?: Duration;
  /**
   * Browser origins allowed to call the endpoint (CORS), for pages that sign requests with
   * temporary credentials (e.g. a Cognito identity pool).
   * @default - none: the endpoint is for servers, the CLI and curl
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * Throttling of the endpoint's stage.
   * @default { rateLimit: 10, burstLimit: 20 }
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/** The options, checked: the policy as the function's TOKEN_GRANTS, and lifetimes in seconds. */
export interface TokenEndpointSettings {
  readonly policyJson: string;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly allowedOrigins: readonly string[];
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
}

function seconds(duration: Duration, what: string): number {
  const value = duration.toSeconds({ integral: false });
  if (!Number.isInteger(value)) throw new Error(`${what} must be a whole number of seconds, got ${value}`);
  return value;
}

/**
 * Checks the options before anything is built (so a bad policy fails synthesis at once, before
 * any bundling): the policy against the schema the function uses, its size, and the lifetimes
 * against `maxTokenLifetime`, the authorizer's cap.
 */
export function tokenEndpointSettings(
  options: TraceStreamTokenEndpointOptions,
  maxTokenLifetime: Duration,
): TokenEndpointSettings {
  const parsed = TokenGrantRules.safeParse(options.grants);
  if (!parsed.success) {
    throw new Error(`tokenEndpoint.grants is not a valid token policy:\n${z.prettifyError(parsed.error)}`);
  }
  const policyJson = JSON.stringify(parsed.data);
  if (Buffer.byteLength(policyJson) > MAX_POLICY_BYTES) {
    throw new Error(
      `tokenEndpoint.grants is ${Buffer.byteLength(policyJson)} bytes as JSON; at most ${MAX_POLICY_BYTES} fit in the function's environment: use wildcards or fewer rules`,
    );
  }
  const cap = seconds(maxTokenLifetime, "maxTokenLifetime");
  const maxTtlSeconds = seconds(options.maxLifetime ?? Duration.hours(1), "tokenEndpoint.maxLifetime");
  const defaultTtlSeconds = seconds(
    options.defaultLifetime ?? Duration.seconds(Math.min(15 * 60, maxTtlSeconds)),
    "tokenEndpoint.defaultLifetime",
  );
  if (maxTtlSeconds > cap) {
    throw new Error(
      `tokenEndpoint.maxLifetime (${maxTtlSeconds} s) exceeds maxTokenLifetime (${cap} s): the authorizer would refuse such tokens`,
    );
  }
  if (maxTtlSeconds < MIN_TOKEN_TTL_SECONDS) {
    throw new Error(
      `tokenEndpoint.maxLifetime must be at least ${MIN_TOKEN_TTL_SECONDS} s, got ${maxTtlSeconds} s`,
    );
  }
  if (defaultTtlSeconds < MIN_TOKEN_TTL_SECONDS || defaultTtlSeconds > maxTtlSeconds) {
    throw new Error(
      `tokenEndpoint.defaultLifetime must be from ${MIN_TOKEN_TTL_SECONDS} s to maxLifetime (${maxTtlSeconds} s), got ${defaultTtlSeconds} s`,
    );
  }
  for (const origin of options.allowedOrigins ?? []) {
    if (!/^https:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(origin)) {
      throw new Error(
        `tokenEndpoint.allowedOrigins entries must be https://host[:port] origins, got "${origin}"`,
      );
    }
  }
  const throttle = options.throttle ?? { rateLimit: 10, burstLimit: 20 };
  if (!(throttle.rateLimit > 0) || !Number.isInteger(throttle.burstLimit) || throttle.burstLimit <= 0) {
    throw new Error("tokenEndpoint.throttle needs a positive rateLimit and a positive whole burstLimit");
  }
  return {
    policyJson,
    defaultTtlSeconds,
    maxTtlSeconds,
    allowedOrigins: options.allowedOrigins ?? [],
    throttle,
  };
}

export interface TraceStreamTokenEndpointProps {
  /** From `tokenEndpointSettings`. */
  readonly settings: TokenEndpointSettings;
  /** The `token` function (lambdas/token), built like the stack's other functions. */
  readonly handler: lambda.Function;
  /** The HS256 key the authorizer verifies with. */
  readonly secret: secretsmanager.ISecret;
  /** `iss`/`aud` the authorizer requires, put in every token. */
  readonly issuer?: string;
  readonly audience?: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * An HTTP API with one route, `GET /token`, authorized with IAM (SigV4): the signer's ARN is the
 * caller the token function checks against the policy, and the subject of the token it mints.
 */
export class TraceStreamTokenEndpoint extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly route: apigwv2.HttpRoute;
  readonly handler: lambda.Function;
  /** `https://{api-id}.execute-api.{region}.amazonaws.com/token` */
  readonly url: string;
  /** The route's ARN, for IAM policies granting `execute-api:Invoke`. */
  readonly routeArn: string;

  constructor(scope: Construct, id: string, props: TraceStreamTokenEndpointProps) {
    super(scope, id);
    const { settings } = props;
    this.handler = props.handler;
    props.handler.addEnvironment(ENV.jwtSecretArn, props.secret.secretArn);
    if (props.issuer) props.handler.addEnvironment(ENV.jwtIssuer, props.issuer);
    if (props.audience) props.handler.addEnvironment(ENV.jwtAudience, props.audience);
    props.handler.addEnvironment(ENV.tokenGrants, settings.policyJson);
    props.handler.addEnvironment(ENV.tokenDefaultTtlSeconds, String(settings.defaultTtlSeconds));
    props.handler.addEnvironment(ENV.tokenMaxTtlSeconds, String(settings.maxTtlSeconds));
    props.secret.grantRead(props.handler);

    const origins = settings.allowedOrigins;
    this.httpApi = new apigwv2.HttpApi(this, "HttpApi", {
      apiName: `${Stack.of(this).stackName}-${scope.node.id}-tokens`,
      description: "trace-stream: short-lived viewer tokens for IAM callers",
      createDefaultStage: false,
      ...(origins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...origins],
              allowMethods: [apigwv2.CorsHttpMethod.GET],
              allowHeaders: ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    const accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const throttle = settings.throttle;
    this.stage = new apigwv2.HttpStage(this, "Stage", {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // No query string (trace ids are not secret, but keep the line small) and never a header.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            requestTime: "$context.requestTimeEpoch",
            routeKey: "$context.routeKey",
            status: "$context.status",
            caller: "$context.identity.userArn",
            sourceIp: "$context.identity.sourceIp",
            error: "$context.error.message",
            integrationError: "$context.integrationErrorMessage",
            integrationLatency: "$context.integrationLatency",
          }),
        ),
      },
    });
    [this.route] = this.httpApi.addRoutes({
      path: TOKEN_ROUTE_PATH,
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration("TokenIntegration", props.handler),
      authorizer: new HttpIamAuthorizer(),
    }) as [apigwv2.HttpRoute];
    this.url = `${this.httpApi.apiEndpoint}${TOKEN_ROUTE_PATH}`;
    this.routeArn = Stack.of(this).formatArn({
      service: "execute-api",
      resource: this.httpApi.apiId,
      resourceName: `$default/GET${TOKEN_ROUTE_PATH}`,
    });
  }

  /** Lets `grantee` call the endpoint (`execute-api:Invoke` on `GET /token`, every stage). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.route.grantInvoke(grantee);
  }
}
