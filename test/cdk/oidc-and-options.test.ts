import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/env-names.js";
import { traceEventPattern } from "../../lib/event-rule.js";
import { TraceStreamAuth } from "../../lib/trace-stream-api.js";
import { TraceStreamStack } from "../../lib/trace-stream-stack.js";
import {
  actionsOf,
  appWithoutBundling,
  environmentOf,
  logicalId,
  outputs,
  resources,
  statementsOfRole,
} from "./template-helpers.js";

const OIDC = {
  jwksUrl: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example/.well-known/jwks.json",
  issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example",
  audience: "trace-viewer",
  tokenUse: "id" as const,
};

// Every option away from its default, in one stack (template only, no bundling).
let stack: TraceStreamStack;
let template: Template;

beforeAll(() => {
  stack = new TraceStreamStack(appWithoutBundling(), "TraceStreamOidc", {
    api: {
      auth: TraceStreamAuth.oidc(OIDC),
      eventSource: "acme.agents",
      eventBusName: "acme-traces",
      eventRetention: Duration.days(3),
      stageName: "dev",
      throttle: { rateLimit: 20, burstLimit: 40 },
      routeThrottles: {
        resume: { rateLimit: 5, burstLimit: 10 },
        $connect: { rateLimit: 10, burstLimit: 10 },
      },
      maxSubscribersPerTrace: 25,
      emitterConcurrency: 8,
      removalPolicy: RemovalPolicy.DESTROY,
      logLevel: "DEBUG",
      tracing: false,
      apiGatewayCloudWatchRole: false,
    },
  });
  template = Template.fromStack(stack);
});

describe("OIDC mode", () => {
  it("verifies tokens against the issuer's JWKS, issuer, audience, (by default) access token use and lifetime cap", () => {
    const env = environmentOf(template, logicalId(stack.api.functions.authorizer));
    expect(env).toMatchObject({
      [ENV.jwksUrl]: OIDC.jwksUrl,
      [ENV.jwtIssuer]: OIDC.issuer,
      [ENV.jwtAudience]: OIDC.audience,
      [ENV.jwtTokenUse]: "id",
      [ENV.jwtMaxLifetimeSeconds]: "86400",
    });
    expect(env).not.toHaveProperty(ENV.jwtSecretArn);
    expect(env).not.toHaveProperty(ENV.jwtSecret);
  });

  it("creates no secret, grants no secret access and outputs no secret ARN", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const authorizerRole = logicalId(stack.api.functions.authorizer.role!);
    expect(
      actionsOf(statementsOfRole(template, authorizerRole)).filter((a) => a.startsWith("secretsmanager:")),
    ).toEqual([]);
    expect(outputs(template)).not.toHaveProperty("JwtSecretArn");
    expect(stack.api.jwtSecret).toBeUndefined();
  });

  it("refuses grantTokenSigning, since the issuer signs the tokens", () => {
    expect(() => stack.api.grantTokenSigning(stack.api.functions.default)).toThrow(/HS256 mode/);
  });
});

describe("custom options", () => {
  it("matches and accepts only the configured event source on the configured bus", () => {
    template.hasResourceProperties("AWS::Events::EventBus", { Name: "acme-traces" });
    template.hasResourceProperties("AWS::Events::Rule", { EventPattern: traceEventPattern("acme.agents") });
    expect(environmentOf(template, logicalId(stack.api.functions.emitter))[ENV.eventSource]).toBe(
      "acme.agents",
    );
    expect(JSON.stringify(outputs(template).EventSource?.Value)).toBe('"acme.agents"');
  });

  it("passes the retention in days and the fan-out concurrency to the emitter", () => {
    expect(environmentOf(template, logicalId(stack.api.functions.emitter))).toMatchObject({
      [ENV.eventRetentionDays]: "3",
      [ENV.emitterConcurrency]: "8",
      POWERTOOLS_LOG_LEVEL: "DEBUG",
    });
  });

  it("names the stage, throttles it, and scopes @connections access and the endpoint to it", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "dev",
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      RouteSettings: {
        resume: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
        $connect: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 10 },
      },
    });
    expect(environmentOf(template, logicalId(stack.api.functions.connect))).toMatchObject({
      MAX_SUBSCRIBERS_PER_TRACE: "25",
    });
    const emitterRole = logicalId(stack.api.functions.emitter.role!);
    const manage = statementsOfRole(template, emitterRole).find((s) =>
      actionsOf([s]).includes("execute-api:ManageConnections"),
    );
    expect(JSON.stringify(manage?.Resource)).toMatch(/"\/dev\/POST\/@connections\/\*"\]\]\}$/);
    expect(
      JSON.stringify(
        environmentOf(template, logicalId(stack.api.functions.emitter))[ENV.connectionsEndpoint],
      ),
    ).toMatch(/"\/dev"\]\]\}$/);
  });

  it("deletes the table, queues and log groups with the stack when asked to", () => {
    template.hasResource("AWS::DynamoDB::GlobalTable", {
      DeletionPolicy: "Delete",
      Properties: { Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })] },
    });
    for (const type of ["AWS::SQS::Queue", "AWS::Logs::LogGroup"]) {
      for (const resource of Object.values(resources(template)).filter((r) => r.Type === type)) {
        expect(resource.DeletionPolicy, type).toBe("Delete");
      }
    }
  });

  it("leaves the account's API Gateway logging role alone when told the account has one", () => {
    template.resourceCountIs("AWS::ApiGateway::Account", 0);
  });

  it("turns X-Ray off: no tracing config and no '*' permissions at all", () => {
    template.resourcePropertiesCountIs("AWS::Lambda::Function", { TracingConfig: Match.anyValue() }, 0);
    expect(JSON.stringify(template.findResources("AWS::IAM::Policy"))).not.toContain("xray:");
  });
});
