import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/env-names.js";
import { TraceStreamApi, type TraceStreamApiProps, TraceStreamAuth } from "../../lib/trace-stream-api.js";
import { apiPropsFromContext, TraceStreamStack } from "../../lib/trace-stream-stack.js";
import type { TokenGrantRule } from "../../protocol/token-api.js";
import {
  actionsOf,
  appWithoutBundling,
  environmentOf,
  logicalId,
  outputs,
  resources,
  statementsOfRole,
} from "./template-helpers.js";

const GRANTS: TokenGrantRule[] = [
  { principals: ["arn:aws:iam::123456789012:role/trace-viewer"], traces: ["team-a/*"] },
  { principals: ["arn:aws:sts::123456789012:assumed-role/ops/*"], traces: ["*"] },
];

let stack: TraceStreamStack;
let template: Template;
let caller: iam.Role;

beforeAll(() => {
  stack = new TraceStreamStack(appWithoutBundling(), "TokenEndpointStack", {
    api: {
      auth: TraceStreamAuth.hs256({ issuer: "trace-stream", audience: "viewers" }),
      tokenEndpoint: { grants: GRANTS },
    },
  });
  caller = new iam.Role(stack, "Backend", { assumedBy: new iam.AccountRootPrincipal() });
  stack.api.tokenEndpoint?.grantInvoke(caller);
  template = Template.fromStack(stack);
});

const endpoint = () => {
  const found = stack.api.tokenEndpoint;
  if (!found) throw new Error("no token endpoint");
  return found;
};

describe("token endpoint: authentication", () => {
  it("has exactly one route, GET /token, and it requires IAM (SigV4) authorization", () => {
    const routes = Object.values(resources(template)).filter(
      (resource) =>
        resource.Type === "AWS::ApiGatewayV2::Route" &&
        JSON.stringify(resource.Properties?.ApiId).includes(logicalId(endpoint().httpApi)),
    );
    expect(routes.map((route) => [route.Properties?.RouteKey, route.Properties?.AuthorizationType])).toEqual([
      ["GET /token", "AWS_IAM"],
    ]);
  });

  it("is a throttled $default stage of an HTTP API, with access logs that record the caller", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      ProtocolType: "HTTP",
      CorsConfiguration: Match.absent(),
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      ApiId: { Ref: logicalId(endpoint().httpApi) },
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: { Format: Match.stringLikeRegexp("\\$context.identity.userArn") },
    });
  });

  it("lets a grantee invoke GET /token only, and outputs the URL and the route ARN to grant", () => {
    const statements = statementsOfRole(template, logicalId(caller));
    expect(actionsOf(statements)).toEqual(["execute-api:Invoke"]);
    expect(JSON.stringify(statements[0]?.Resource)).toMatch(/\/\*\/GET\/token"\]\]\}$/);
    expect(Object.keys(outputs(template))).toEqual(
      expect.arrayContaining(["TokenEndpointUrl", "TokenEndpointRouteArn"]),
    );
    expect(JSON.stringify(outputs(template).TokenEndpointUrl?.Value)).toContain("/token");
    expect(JSON.stringify(outputs(template).TokenEndpointRouteArn?.Value)).toContain("/$default/GET/token");
  });
});

describe("token endpoint: scope and lifetime", () => {
  it("gives the token function the policy, the lifetimes, the key and the claims the authorizer requires", () => {
    const env = environmentOf(template, logicalId(endpoint().handler));
    expect(JSON.parse(String(env[ENV.tokenGrants]))).toEqual(GRANTS);
    expect(env).toMatchObject({
      [ENV.tokenDefaultTtlSeconds]: "900",
      [ENV.tokenMaxTtlSeconds]: "3600",
      [ENV.jwtSecretArn]: { Ref: logicalId(stack.api.jwtSecret as never) },
      [ENV.jwtIssuer]: "trace-stream",
      [ENV.jwtAudience]: "viewers",
    });
  });

  it("caps the authorizer at one day by default", () => {
    expect(
      environmentOf(template, logicalId(stack.api.functions.authorizer))[ENV.jwtMaxLifetimeSeconds],
    ).toBe("86400");
  });

  it("lets the token function read the key and nothing else of the stack", () => {
    const statements = statementsOfRole(template, logicalId(endpoint().handler.role!));
    const actions = actionsOf(statements).filter(
      (action) => !action.startsWith("xray:") && !action.startsWith("logs:"),
    );
    expect(actions.sort()).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
    const secretStatement = statements.find((s) => actionsOf([s]).includes("secretsmanager:GetSecretValue"));
    expect(secretStatement?.Resource).toEqual({ Ref: logicalId(stack.api.jwtSecret as never) });
  });

  it("deploys no token function, route or output without the option", () => {
    const plain = new TraceStreamStack(appWithoutBundling(), "NoTokenEndpoint");
    const plainTemplate = Template.fromStack(plain);
    plainTemplate.resourceCountIs("AWS::ApiGatewayV2::Api", 1);
    expect(plain.api.tokenEndpoint).toBeUndefined();
    expect(Object.keys(outputs(plainTemplate))).not.toContain("TokenEndpointUrl");
  });

  it("passes custom lifetimes, CORS origins and a custom authorizer cap through", () => {
    const custom = new TraceStreamStack(appWithoutBundling(), "CustomTokenEndpoint", {
      api: {
        maxTokenLifetime: Duration.hours(2),
        tokenEndpoint: {
          grants: GRANTS,
          defaultLifetime: Duration.minutes(5),
          maxLifetime: Duration.hours(2),
          allowedOrigins: ["https://app.example.com"],
        },
      },
    });
    const customTemplate = Template.fromStack(custom);
    const tokenEnv = environmentOf(customTemplate, logicalId(custom.api.tokenEndpoint!.handler));
    expect(tokenEnv).toMatchObject({ [ENV.tokenDefaultTtlSeconds]: "300", [ENV.tokenMaxTtlSeconds]: "7200" });
    expect(
      environmentOf(customTemplate, logicalId(custom.api.functions.authorizer))[ENV.jwtMaxLifetimeSeconds],
    ).toBe("7200");
    customTemplate.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      ProtocolType: "HTTP",
      CorsConfiguration: { AllowOrigins: ["https://app.example.com"], AllowMethods: ["GET"] },
    });
  });
});

describe("token endpoint: bad options fail synthesis before anything is built", () => {
  const build = (props: TraceStreamApiProps) => () =>
    new TraceStreamApi(new Stack(appWithoutBundling(), "Bad"), "Api", props);

  it.each<[string, TraceStreamApiProps, RegExp]>([
    [
      "a lifetime over the authorizer's cap",
      { tokenEndpoint: { grants: GRANTS, maxLifetime: Duration.days(2) } },
      /tokenEndpoint.maxLifetime \(172800 s\) exceeds maxTokenLifetime \(86400 s\)/,
    ],
    [
      "a default lifetime over the maximum",
      { tokenEndpoint: { grants: GRANTS, defaultLifetime: Duration.hours(2) } },
      /defaultLifetime must be from 60 s to maxLifetime \(3600 s\), got 7200 s/,
    ],
    [
      "a principal that is not an ARN",
      { tokenEndpoint: { grants: [{ principals: ["alice"], traces: ["*"] }] } },
      /tokenEndpoint.grants is not a valid token policy:[\s\S]*IAM or STS ARN/,
    ],
    [
      "a trace grant that is not an id or prefix",
      { tokenEndpoint: { grants: [{ principals: ["*"], traces: ["a b"] }] } },
      /prefix of one ending in \*/,
    ],
    [
      "a policy too large for the function's environment",
      {
        tokenEndpoint: {
          grants: Array.from({ length: 40 }, (_, i) => ({
            principals: [`arn:aws:iam::123456789012:role/viewer-${i}`],
            traces: [`team-${i}/*`, `shared-${i}`],
          })),
        },
      },
      /bytes as JSON; at most 3000 fit/,
    ],
    [
      "an http origin",
      { tokenEndpoint: { grants: GRANTS, allowedOrigins: ["http://app.example.com"] } },
      /allowedOrigins entries must be https/,
    ],
    [
      "OIDC mode",
      {
        auth: TraceStreamAuth.oidc({
          jwksUrl: "https://issuer.example/jwks.json",
          issuer: "https://issuer.example/",
          audience: "viewer-app",
        }),
        tokenEndpoint: { grants: GRANTS },
      },
      /tokenEndpoint needs HS256 mode/,
    ],
  ])("refuses %s", (_label, props, message) => {
    expect(build(props)).toThrow(message);
  });
});

describe("token endpoint from context (-c tokenGrants=JSON)", () => {
  const fromContext = (context: Record<string, unknown>) => apiPropsFromContext(new App({ context }).node);

  it("turns the endpoint on with the policy given as a JSON string or as cdk.json's array", () => {
    expect(fromContext({ tokenGrants: JSON.stringify(GRANTS) }).tokenEndpoint).toEqual({ grants: GRANTS });
    expect(fromContext({ tokenGrants: GRANTS }).tokenEndpoint).toEqual({ grants: GRANTS });
    expect(fromContext({}).tokenEndpoint).toBeUndefined();
  });

  it("says what JSON it expects when the value does not parse", () => {
    expect(() => fromContext({ tokenGrants: "[{principals:" })).toThrow(
      /context tokenGrants must be JSON like/,
    );
  });
});
