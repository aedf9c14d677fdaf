import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../../lambdas/authorizer/token.js";
import { ENV } from "../../lambdas/shared/env-names.js";
import { DEFAULT_EVENT_SOURCE, EMITTER_TARGET_RETRY } from "../../lib/event-rule.js";
import { FUNCTION_NAMES } from "../../lib/function-names.js";
import { readTraceEventRegistrySchema } from "../../lib/registry-schema.js";
import { AUTHORIZER_IDENTITY_SOURCES, ROUTE_SELECTION_EXPRESSION, ROUTES } from "../../lib/routes.js";
import {
  createTableInput,
  PARTITION_KEY,
  RUNS_INDEX,
  RUNS_PARTITION_KEY,
  RUNS_SORT_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "../../lib/table-design.js";
import type { TraceStreamFunctionName } from "../../lib/trace-stream-api.js";
import { TraceStreamStack } from "../../lib/trace-stream-stack.js";
import {
  actionsOf,
  deployContext,
  environmentOf,
  logicalId,
  outputs,
  type PolicyStatementJson,
  resources,
  statementsOfRole,
} from "./template-helpers.js";

// One stack with the default options (HS256, source "trace-stream", stage "prod"), synthesized
// once. This is the one test file that bundles the functions with esbuild; the last describe
// loads the bundles.
const execFileAsync = promisify(execFile);
let app: App;
let stack: TraceStreamStack;
let template: Template;
let publisher: iam.Role;
const fnId = (name: TraceStreamFunctionName) => logicalId(stack.api.functions[name]);
const statementsOf = (name: TraceStreamFunctionName) =>
  statementsOfRole(template, logicalId(stack.api.functions[name].role!));

beforeAll(() => {
  app = new App({ context: deployContext() });
  stack = new TraceStreamStack(app, "TraceStreamTest");
  publisher = new iam.Role(stack, "Publisher", { assumedBy: new iam.AccountRootPrincipal() });
  stack.api.grantPublish(publisher);
  template = Template.fromStack(stack);
  // esbuild bundles six functions here (the AWS SDK included); on two busy cores that can take
  // longer than the default hook timeout.
}, 240_000);

function routeResource(routeKey: string) {
  const found = Object.entries(
    template.findResources("AWS::ApiGatewayV2::Route", { Properties: { RouteKey: routeKey } }),
  );
  expect(found, `route ${routeKey}`).toHaveLength(1);
  const [id, route] = found[0]!;
  return { id, properties: route.Properties as Record<string, unknown> };
}

describe("WebSocket API", () => {
  it("selects routes with the shared route selection expression", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      ProtocolType: "WEBSOCKET",
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
  });

  it("has exactly the routes of the shared route table", () => {
    const keys = Object.values(template.findResources("AWS::ApiGatewayV2::Route")).map(
      (route) => (route.Properties as { RouteKey: string }).RouteKey,
    );
    expect(keys.sort()).toEqual(ROUTES.map((route) => route.routeKey).sort());
  });

  it("sends each route to the Lambda the route table names", () => {
    const all = resources(template);
    for (const route of ROUTES) {
      if (route.function === undefined) continue;
      const target = JSON.stringify(routeResource(route.routeKey).properties.Target);
      const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1];
      const integration = all[integrationId ?? ""];
      expect(integration?.Type).toBe("AWS::ApiGatewayV2::Integration");
      expect(integration?.Properties?.IntegrationType).toBe("AWS_PROXY");
      expect(JSON.stringify(integration?.Properties?.IntegrationUri)).toContain(`"${fnId(route.function)}"`);
    }
  });

  it("authorizes $connect with a REQUEST authorizer that needs both traceId and token", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "REQUEST",
      IdentitySource: [...AUTHORIZER_IDENTITY_SOURCES],
    });
    const [authorizerId] = Object.keys(template.findResources("AWS::ApiGatewayV2::Authorizer"));
    const authorizer = resources(template)[authorizerId!]!;
    expect(JSON.stringify(authorizer.Properties?.AuthorizerUri)).toContain(`"${fnId("authorizer")}"`);
    expect(routeResource("$connect").properties).toMatchObject({
      AuthorizationType: "CUSTOM",
      AuthorizerId: { Ref: authorizerId },
    });
  });

  it("leaves the other routes without an authorizer (WebSocket APIs authorize on $connect only)", () => {
    for (const route of ROUTES.filter((r) => !r.authorized)) {
      expect(routeResource(route.routeKey).properties.AuthorizationType).toBe("NONE");
    }
  });

  it("answers the caller on two-way routes through a $default route response, and only there", () => {
    for (const route of ROUTES) {
      const { id, properties } = routeResource(route.routeKey);
      const responses = template.findResources("AWS::ApiGatewayV2::RouteResponse", {
        Properties: { RouteId: { Ref: id }, RouteResponseKey: "$default" },
      });
      expect(Object.keys(responses), route.routeKey).toHaveLength(route.twoWay ? 1 : 0);
      expect(properties.RouteResponseSelectionExpression, route.routeKey).toBe(
        route.twoWay ? "$default" : undefined,
      );
    }
  });

  it("deploys the prod stage automatically, throttled, with JSON access logs that leave out the token", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "prod",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    });
    const [stageResource] = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"));
    const format = (stageResource!.Properties as { AccessLogSettings: { Format: string } }).AccessLogSettings
      .Format;
    const fields = JSON.parse(format) as Record<string, string>;
    expect(fields.requestId).toBe("$context.requestId");
    expect(fields.traceId).toBe("$context.authorizer.traceId");
    expect(format).not.toMatch(/querystring|token/i);
  });

  it("throttles resume and listRuns tighter than the other routes, after the routes exist, and caps subscribers per trace", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      RouteSettings: {
        resume: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        listRuns: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      },
    });
    // listRuns is answered by the resume function, which reads as far back as events are kept.
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
      RouteKey: "listRuns",
      Target: Match.anyValue(),
    });
    expect(environmentOf(template, logicalId(stack.api.functions.resume))).toMatchObject({
      EVENT_RETENTION_DAYS: "7",
    });
    const [stageResource] = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"));
    const routeIds = Object.keys(template.findResources("AWS::ApiGatewayV2::Route"));
    expect(stageResource!.DependsOn).toEqual(expect.arrayContaining(routeIds));
    expect(environmentOf(template, logicalId(stack.api.functions.connect))).toMatchObject({
      MAX_SUBSCRIBERS_PER_TRACE: "1000",
    });
  });

  it("registers the account's API Gateway logging role before the stage that logs", () => {
    const [accountId] = Object.keys(template.findResources("AWS::ApiGateway::Account"));
    const [stageResource] = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"));
    expect(stageResource!.DependsOn).toContain(accountId);
    template.hasResource("AWS::IAM::Role", {
      DeletionPolicy: "Retain",
      Properties: {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: "apigateway.amazonaws.com" } })],
        }),
      },
    });
  });
});

describe("table", () => {
  it("has string keys pk/sk, on-demand billing, TTL on expires_at, point-in-time recovery and KMS encryption", () => {
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      KeySchema: [
        { AttributeName: PARTITION_KEY, KeyType: "HASH" },
        { AttributeName: SORT_KEY, KeyType: "RANGE" },
      ],
      AttributeDefinitions: [
        { AttributeName: PARTITION_KEY, AttributeType: "S" },
        { AttributeName: SORT_KEY, AttributeType: "S" },
        { AttributeName: RUNS_PARTITION_KEY, AttributeType: "S" },
        { AttributeName: RUNS_SORT_KEY, AttributeType: "S" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      SSESpecification: { SSEEnabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
    expect(TTL_ATTRIBUTE).toBe("expires_at");
  });

  it("has the run index: a keys-only GSI by start day and start time, as the local table has", () => {
    const local = createTableInput("t").GlobalSecondaryIndexes;
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      GlobalSecondaryIndexes: local.map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
      })),
    });
    expect(local.map((index) => index.IndexName)).toEqual([RUNS_INDEX]);
  });

  it("is retained and protected from deletion by default", () => {
    template.hasResource("AWS::DynamoDB::GlobalTable", {
      DeletionPolicy: "Retain",
      Properties: { Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })] },
    });
  });
});

describe("event delivery", () => {
  it("puts the trace bus under the event source's name", () => {
    template.hasResourceProperties("AWS::Events::EventBus", { Name: DEFAULT_EVENT_SOURCE });
  });

  it("routes everything from the source to the emitter, with no detail-type filter to lose a mistyped name", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: logicalId(stack.api.eventBus) },
      EventPattern: Match.objectEquals({ source: [DEFAULT_EVENT_SOURCE] }),
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [fnId("emitter"), "Arn"] } })],
    });
  });

  it("retries the emitter target with the shared policy and dead-letters what it cannot deliver", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      Targets: [
        Match.objectLike({
          RetryPolicy: {
            MaximumRetryAttempts: EMITTER_TARGET_RETRY.retryAttempts,
            MaximumEventAgeInSeconds: EMITTER_TARGET_RETRY.maxEventAgeSeconds,
          },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [logicalId(stack.api.deadLetterQueue), "Arn"] } },
        }),
      ],
    });
  });

  it("lets only this rule send to the dead-letter queue on EventBridge's behalf", () => {
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: logicalId(stack.api.deadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Principal: { Service: "events.amazonaws.com" },
            Condition: {
              ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [logicalId(stack.api.rule), "Arn"] } },
            },
          }),
        ]),
      },
    });
  });

  it("sends emitter invocations that fail after Lambda's retries, redacted by the failure recorder, to a separate failure queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fnId("emitter") },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [fnId("failure-recorder"), "Arn"] } },
      },
    });
    const failureQueueArn = { "Fn::GetAtt": [logicalId(stack.api.asyncFailureQueue), "Arn"] };
    // The recorder's own failures land in the queue unredacted rather than being lost.
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fnId("failure-recorder") },
      DestinationConfig: { OnFailure: { Destination: failureQueueArn } },
    });
    expect(environmentOf(template, fnId("failure-recorder"))[ENV.failureQueueUrl]).toEqual({
      Ref: logicalId(stack.api.asyncFailureQueue),
    });
    const sends = statementsOf("failure-recorder").filter((statement) =>
      actionsOf([statement]).includes("sqs:SendMessage"),
    );
    expect(sends.flatMap((statement) => [statement.Resource].flat())).toEqual([failureQueueArn]);
    expect(actionsOf(statementsOf("failure-recorder")).some((action) => action.startsWith("dynamodb:"))).toBe(
      false,
    );
    expect(logicalId(stack.api.asyncFailureQueue)).not.toBe(logicalId(stack.api.deadLetterQueue));
  });

  it("encrypts both queues, keeps messages 14 days and refuses plain-HTTP access", () => {
    template.resourcePropertiesCountIs(
      "AWS::SQS::Queue",
      { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      2,
    );
    for (const queue of [stack.api.deadLetterQueue, stack.api.asyncFailureQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });

  it("registers the committed TraceEvent schema in the schema registry as draft 4", () => {
    template.hasResourceProperties("AWS::EventSchemas::Schema", {
      RegistryName: { "Fn::GetAtt": [Match.anyValue(), "RegistryName"] },
      Type: "JSONSchemaDraft4",
      Content: readTraceEventRegistrySchema(DEFAULT_EVENT_SOURCE),
    });
    template.resourceCountIs("AWS::EventSchemas::Registry", 1);
  });
});

describe("alarms", () => {
  const alarmOn = (metricName: string, dimensions: unknown[]) =>
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: metricName,
      Dimensions: dimensions,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });

  it("fires when anything sits in the dead-letter queue or the failure queue", () => {
    for (const queue of [stack.api.deadLetterQueue, stack.api.asyncFailureQueue]) {
      alarmOn("ApproximateNumberOfMessagesVisible", [
        { Name: "QueueName", Value: { "Fn::GetAtt": [logicalId(queue), "QueueName"] } },
      ]);
    }
  });

  it("fires on any emitter error or throttle", () => {
    for (const metric of ["Errors", "Throttles"]) {
      alarmOn(metric, [{ Name: "FunctionName", Value: { Ref: fnId("emitter") } }]);
    }
  });
});

describe("functions", () => {
  const names = FUNCTION_NAMES;
  const pascal = (name: string) =>
    name
      .split("-")
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join("");

  it("runs all seven functions on Node.js 24, arm64, ESM bundles, no X-Ray, and Powertools settings with sampled debug logs", () => {
    template.resourceCountIs("AWS::Lambda::Function", names.length);
    for (const name of names) {
      template.hasResourceProperties("AWS::Lambda::Function", {
        FunctionName: Match.absent(),
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        TracingConfig: Match.absent(),
        LoggingConfig: {
          LogGroup: { Ref: Match.stringLikeRegexp(`${pascal(name)}Logs`) },
        },
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: "trace-stream",
            POWERTOOLS_METRICS_NAMESPACE: "TraceStream",
            POWERTOOLS_LOG_LEVEL: "INFO",
            POWERTOOLS_LOGGER_SAMPLE_RATE: "0.01",
            NODE_OPTIONS: "--enable-source-maps",
          }),
        },
      });
    }
  });

  it("keeps each function's logs for a month in its own log group", () => {
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, names.length + 1);
  });

  it("gives the authorizer the secret's ARN, not its value", () => {
    const env = environmentOf(template, fnId("authorizer"));
    expect(env[ENV.jwtSecretArn]).toEqual({ Ref: logicalId(stack.api.jwtSecret!) });
    expect(env).not.toHaveProperty(ENV.jwtSecret);
    expect(env).not.toHaveProperty(ENV.jwksUrl);
  });

  it("gives the emitter the table, callback endpoint, dead-letter queue, source, retention and concurrency", () => {
    const env = environmentOf(template, fnId("emitter"));
    expect(env).toMatchObject({
      [ENV.tableName]: { Ref: logicalId(stack.api.table) },
      [ENV.deadLetterQueueUrl]: { Ref: logicalId(stack.api.deadLetterQueue) },
      [ENV.eventSource]: DEFAULT_EVENT_SOURCE,
      [ENV.eventRetentionDays]: "7",
      [ENV.emitterConcurrency]: "32",
    });
    expect(env[ENV.connectionsEndpoint]).toEqual(
      environmentOf(template, fnId("resume"))[ENV.connectionsEndpoint],
    );
  });

  it("points CONNECTIONS_ENDPOINT at this API's prod stage over https", () => {
    const endpoint = JSON.stringify(environmentOf(template, fnId("resume"))[ENV.connectionsEndpoint]);
    expect(endpoint).toContain('"https://"');
    expect(endpoint).toContain(`{"Ref":"${logicalId(stack.api.webSocketApi)}"}`);
    expect(endpoint).toContain('".execute-api."');
    expect(endpoint).toMatch(/"\/prod"\]\]\}$/);
  });

  it("gives default no configuration beyond Powertools", () => {
    for (const name of ["default"] as const) {
      expect(
        Object.keys(environmentOf(template, fnId(name))).filter((key) => !key.startsWith("POWERTOOLS_")),
      ).toEqual(["NODE_OPTIONS"]);
    }
  });
});

describe("least privilege", () => {
  const dynamoActions = (name: TraceStreamFunctionName) =>
    actionsOf(statementsOf(name)).filter((action) => action.startsWith("dynamodb:"));
  const readActions = ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:BatchGetItem"];

  it("scopes execute-api:ManageConnections to POST on this API's prod stage @connections, never '*'", () => {
    for (const name of ["resume", "emitter"] as const) {
      const manage = statementsOf(name).filter((s) =>
        actionsOf([s]).includes("execute-api:ManageConnections"),
      );
      expect(manage, name).toHaveLength(1);
      const resource = JSON.stringify(manage[0]!.Resource);
      expect(resource).not.toBe('"*"');
      expect(resource).toContain(`{"Ref":"${logicalId(stack.api.webSocketApi)}"}`);
      expect(resource).toMatch(/"\/prod\/POST\/@connections\/\*"\]\]\}$/);
    }
  });

  it("lets no other function manage connections", () => {
    for (const name of ["authorizer", "connect", "disconnect", "default"] as const) {
      expect(actionsOf(statementsOf(name)), name).not.toContain("execute-api:ManageConnections");
    }
  });

  it("gives the authorizer no table access, only a read of its secret", () => {
    expect(dynamoActions("authorizer")).toEqual([]);
    const secretStatements = statementsOf("authorizer").filter((s) =>
      actionsOf([s]).some((a) => a.startsWith("secretsmanager:")),
    );
    expect(actionsOf(secretStatements)).toEqual(["secretsmanager:GetSecretValue"]);
    expect(secretStatements[0]!.Resource).toEqual({ Ref: logicalId(stack.api.jwtSecret!) });
  });

  it("gives default nothing but its own logs", () => {
    for (const name of ["default"] as const) {
      expect(actionsOf(statementsOf(name)).sort(), name).toEqual([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
      ]);
    }
  });

  it("lets connect write subscriptions and count a trace's subscribers, and read nothing else", () => {
    expect(dynamoActions("connect")).toEqual(expect.arrayContaining(["dynamodb:PutItem", "dynamodb:Query"]));
    for (const action of readActions.filter((action) => action !== "dynamodb:Query")) {
      expect(dynamoActions("connect")).not.toContain(action);
    }
  });

  it("lets no function scan the table, only resume batch-read run summaries, only resume and the emitter update it, and limits every table grant by partition prefix", () => {
    // The exact grants per function are in test/cdk/function-permissions.test.ts.
    for (const name of FUNCTION_NAMES) {
      expect(dynamoActions(name), name).not.toContain("dynamodb:Scan");
      // listRuns reads the summaries behind a page of index keys (TRACE# partitions only).
      if (name !== "resume") expect(dynamoActions(name), name).not.toContain("dynamodb:BatchGetItem");
      // resume keeps its connection's request window on the connection's own item; the emitter
      // keeps the run summary on the trace's own partition.
      if (name !== "resume" && name !== "emitter")
        expect(dynamoActions(name), name).not.toContain("dynamodb:UpdateItem");
      for (const statement of statementsOf(name).filter((s) =>
        actionsOf([s]).some((a) => a.startsWith("dynamodb:")),
      )) {
        expect(statement.Condition, name).toMatchObject({
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": expect.any(Array) },
        });
      }
    }
  });

  it("grants table access on this table only, and on its runs index only to query it", () => {
    const table = { "Fn::GetAtt": [logicalId(stack.api.table), "Arn"] };
    const runsIndex = { "Fn::Join": ["", [table, `/index/${RUNS_INDEX}`]] };
    for (const name of ["connect", "disconnect", "resume", "emitter"] as const) {
      for (const statement of statementsOf(name).filter((s) =>
        actionsOf([s]).some((a) => a.startsWith("dynamodb:")),
      )) {
        if (JSON.stringify(statement.Resource) === JSON.stringify(runsIndex)) {
          expect(name).toBe("resume");
          expect(actionsOf([statement])).toEqual(["dynamodb:Query"]);
        } else expect(statement.Resource).toEqual(table);
      }
    }
  });

  it("lets the emitter send rejected events to the dead-letter queue", () => {
    const deadLetterArn = { "Fn::GetAtt": [logicalId(stack.api.deadLetterQueue), "Arn"] };
    const sends = statementsOf("emitter").filter((statement) =>
      actionsOf([statement]).includes("sqs:SendMessage"),
    );
    // One statement may name several queues (the failure destination too) with minimizePolicies.
    expect(sends.flatMap((statement) => [statement.Resource].flat())).toContainEqual(deadLetterArn);
  });

  it("uses '*' only for X-Ray, which has no resource-level permissions", () => {
    const wildcard = (statement: PolicyStatementJson) => JSON.stringify(statement.Resource) === '"*"';
    for (const [, policy] of Object.entries(template.findResources("AWS::IAM::Policy"))) {
      const statements = (policy.Properties as { PolicyDocument: { Statement: PolicyStatementJson[] } })
        .PolicyDocument.Statement;
      for (const statement of statements.filter(wildcard)) {
        expect(actionsOf([statement]).every((action) => action.startsWith("xray:"))).toBe(true);
      }
    }
  });

  it("grantPublish gives events:PutEvents on the trace bus and nothing else", () => {
    expect(statementsOfRole(template, logicalId(publisher))).toEqual([
      {
        Effect: "Allow",
        Action: "events:PutEvents",
        Resource: { "Fn::GetAtt": [logicalId(stack.api.eventBus), "Arn"] },
      },
    ]);
  });
});

describe("outputs", () => {
  it("exports the URLs, bus, table, dead-letter queue and (HS256) secret a deployer needs", () => {
    expect(Object.keys(outputs(template)).sort()).toEqual(
      [
        "WebSocketUrl",
        "ManagementEndpoint",
        "EventBusName",
        "EventBusArn",
        "EventSource",
        "TableName",
        "DeadLetterQueueUrl",
        "DeadLetterQueueArn",
        "EmitterFailureQueueUrl",
        "JwtSecretArn",
      ].sort(),
    );
  });

  it("gives the WebSocket URL as wss:// and the management endpoint as https://, both on the prod stage", () => {
    const all = outputs(template);
    const ws = JSON.stringify(all.WebSocketUrl!.Value);
    const management = JSON.stringify(all.ManagementEndpoint!.Value);
    expect(ws).toContain('"wss://"');
    expect(management).toContain('"https://"');
    for (const url of [ws, management]) expect(url).toMatch(/"\/prod"\]\]\}$/);
    expect(all.EventSource!.Value).toBe(DEFAULT_EVENT_SOURCE);
  });
});

describe("bundled functions", () => {
  // What the handlers read at cold start; nothing here reaches AWS.
  const coldStartEnv: Record<string, string> = {
    AWS_REGION: "us-east-1",
    [ENV.tableName]: "trace-stream-test",
    [ENV.connectionsEndpoint]: "https://example.execute-api.us-east-1.amazonaws.com/prod",
    [ENV.deadLetterQueueUrl]: "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    [ENV.eventSource]: DEFAULT_EVENT_SOURCE,
    [ENV.eventRetentionDays]: "7",
    [ENV.emitterConcurrency]: "32",
    [ENV.jwtSecret]: "bundle-test-secret-that-is-long-enough-for-hs256",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
  };
  const OUTCOME_MARK = "@@outcome@@";
  // Loads a bundle in a plain Node process (the Lambda runtime's loader, not the test runner's)
  // and, given an event, invokes its handler.
  const runner = `
    const mod = await import(process.argv[1]);
    const event = JSON.parse(process.argv[2]);
    let outcome;
    if (event === null) outcome = { handlerType: typeof mod.handler };
    else {
      try { outcome = { result: await mod.handler(event, {}) }; }
      catch (error) { outcome = { error: error.message }; }
    }
    process.stdout.write("${OUTCOME_MARK}" + JSON.stringify(outcome));`;
  const runBundle = async (name: TraceStreamFunctionName, event: unknown = null) => {
    const code = resources(template)[fnId(name)]!.Properties!.Code as { S3Key: string };
    const file = join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, "")}`, "index.mjs");
    const { stdout } = await execFileAsync(
      process.execPath,
      ["--input-type=module", "-e", runner, file, JSON.stringify(event)],
      { env: { ...process.env, ...coldStartEnv } },
    );
    return JSON.parse(stdout.slice(stdout.lastIndexOf(OUTCOME_MARK) + OUTCOME_MARK.length)) as {
      handlerType?: string;
      result?: unknown;
      error?: string;
    };
  };

  it("bundles every function as an ES module that loads on Node and exports its handler", async () => {
    const names = ["authorizer", "connect", "disconnect", "resume", "default", "emitter"] as const;
    const loaded = await Promise.all(names.map((name) => runBundle(name)));
    expect(loaded).toEqual(names.map(() => ({ handlerType: "function" })));
  });

  it("bundles jose and zod into the authorizer: a token for the trace is allowed, another trace denied, a bad token refused", async () => {
    const token = await mintToken({ secret: coldStartEnv[ENV.jwtSecret]!, traces: ["run-1"] });
    const request = (traceId: string, bearer: string) => ({
      type: "REQUEST",
      methodArn: "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/$connect",
      queryStringParameters: { traceId, token: bearer },
      requestContext: { routeKey: "$connect", connectionId: "conn-1" },
    });
    const effect = (outcome: { result?: unknown }) =>
      (outcome.result as { policyDocument: { Statement: { Effect: string }[] } }).policyDocument.Statement[0]
        ?.Effect;
    const [allowed, denied, refused] = await Promise.all([
      runBundle("authorizer", request("run-1", token)),
      runBundle("authorizer", request("run-2", token)),
      runBundle("authorizer", request("run-1", "not-a-jwt")),
    ]);
    expect(effect(allowed)).toBe("Allow");
    expect(effect(denied)).toBe("Deny");
    expect(refused).toEqual({ error: "Unauthorized" });
  });

  it("answers ping with a mock integration: API Gateway sends the pong, no function runs", () => {
    const route = Object.values(template.findResources("AWS::ApiGatewayV2::Route")).find(
      (resource) => resource.Properties.RouteKey === "ping",
    );
    expect(route?.Properties.RouteResponseSelectionExpression).toBe("$default");
    template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "MOCK",
      RequestTemplates: { "application/json": JSON.stringify({ statusCode: 200 }) },
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::IntegrationResponse", {
      IntegrationResponseKey: "$default",
      ResponseTemplates: { "application/json": '{"type":"pong"}' },
    });
    template.hasResourceProperties("AWS::ApiGatewayV2::RouteResponse", { RouteResponseKey: "$default" });
    const integrationId = /"Ref":"([^"]+)"/.exec(JSON.stringify(route?.Properties.Target))?.[1] ?? "";
    expect(template.toJSON().Resources[integrationId]?.Properties.IntegrationType).toBe("MOCK");
  });
});
