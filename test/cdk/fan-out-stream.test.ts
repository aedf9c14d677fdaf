import { App, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/env-names.js";
import { FAN_OUT_STREAM } from "../../lib/fan-out-stream.js";
import { apiPropsFromContext, TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { appWithoutBundling, logicalId, statementsOfRole } from "./template-helpers.js";

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('fanOut: "stream"', () => {
  let stack: TraceStreamStack;
  let template: Template;

  beforeAll(() => {
    const app = appWithoutBundling();
    stack = new TraceStreamStack(app, "StreamFanOut", { api: { fanOut: "stream" } });
    template = Template.fromStack(stack);
  });

  it("turns on the table's stream with new images only", () => {
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
    });
  });

  it("tells the emitter to store only, and gives the fan-out function the table and @connections", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ [ENV.fanOutMode]: "stream", [ENV.eventSource]: "trace-stream" }),
      },
    });
    const fanOut = stack.api.fanOutFunction;
    expect(fanOut).toBeDefined();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: Match.stringLikeRegexp("from the table's stream"),
      Environment: {
        Variables: Match.objectLike({
          [ENV.tableName]: Match.anyValue(),
          [ENV.connectionsEndpoint]: Match.anyValue(),
          [ENV.emitterConcurrency]: "32",
        }),
      },
    });
  });

  it("maps the stream to the fan-out: event items' INSERTs only, batched, bisected, retried, failures to the failure queue", () => {
    const queue = logicalId(stack.api.asyncFailureQueue);
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalId(stack.api.fanOutFunction!) },
      EventSourceArn: { "Fn::GetAtt": [logicalId(stack.api.table), "StreamArn"] },
      StartingPosition: "TRIM_HORIZON",
      BatchSize: FAN_OUT_STREAM.batchSize,
      MaximumBatchingWindowInSeconds: FAN_OUT_STREAM.maxBatchingWindowSeconds,
      MaximumRetryAttempts: FAN_OUT_STREAM.retryAttempts,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ["INSERT"],
              dynamodb: { Keys: { sk: { S: [{ prefix: "EVT#" }] } } },
            }),
          },
        ],
      },
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [queue, "Arn"] } } },
    });
  });

  it("lets the fan-out read the stream, query and prune trace partitions and runs watchers, post, and send failure records, nothing more", () => {
    const statements = statementsOfRole(template, logicalId(stack.api.fanOutFunction!.role!));
    const actions = [...new Set(statements.flatMap((statement) => list(statement.Action)))].sort();
    expect(actions).toEqual(
      [
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "execute-api:ManageConnections",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
      ].sort(),
    );
    const streamRead = statements.find((statement) => list(statement.Action).includes("dynamodb:GetRecords"));
    expect(streamRead?.Resource).toEqual({ "Fn::GetAtt": [logicalId(stack.api.table), "StreamArn"] });
    const wildcard = statements.filter((statement) => statement.Resource === "*");
    expect(wildcard.flatMap((statement) => list(statement.Action))).toEqual(["dynamodb:ListStreams"]);
  });

  it("alarms when the fan-out throws, falls a minute behind the stream, or its posts fail", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "IteratorAge",
      Namespace: "AWS/Lambda",
      Statistic: "Maximum",
      Threshold: 60_000,
      Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(stack.api.fanOutFunction!) } }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(stack.api.fanOutFunction!) } }],
    });
    expect(stack.api.fanOutAlarms?.failedDeliveries).toBeDefined();
  });

  it("alarms when the fan-out, which writes the run summaries in this mode, leaves the runs list behind", () => {
    const fanOutMetric = (id: string, name: string) =>
      Match.objectLike({
        Id: id,
        MetricStat: Match.objectLike({
          Metric: Match.objectLike({
            MetricName: name,
            Dimensions: Match.arrayWith([{ Name: "function", Value: "fan-out" }]),
          }),
        }),
      });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(index, 0) + FILL(updates, 0)" }),
        fanOutMetric("index", "RunIndexFailures"),
        fanOutMetric("updates", "RunUpdateFailures"),
      ]),
    });
    expect(stack.api.fanOutAlarms?.runsListFailures).toBeDefined();
  });

  it("leaves no unacknowledged cdk-nag finding", () => {
    const app = appWithoutBundling();
    new TraceStreamStack(app, "NagStream", { api: { fanOut: "stream" } });
    const violations = new AwsSolutionsChecks(app).validateScope(app).violations;
    expect(violations.map((violation) => violation.ruleName)).toEqual([]);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('fanOut: "direct" (the default)', () => {
  it("has no stream, no fan-out function and no mapping", () => {
    const stack = new TraceStreamStack(appWithoutBundling(), "DirectFanOut");
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::Lambda::EventSourceMapping", 0);
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", { StreamSpecification: Match.absent() });
    expect(stack.api.fanOutFunction).toBeUndefined();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ [ENV.fanOutMode]: "direct" }) },
    });
  });

  it("refuses an unknown mode, from props and from context", () => {
    expect(
      () => new TraceStreamStack(appWithoutBundling(), "Bad", { api: { fanOut: "kinesis" as never } }),
    ).toThrow(/fanOut must be "direct" or "stream"/);
    const fromContext = (fanOut: string) => apiPropsFromContext(new App({ context: { fanOut } }).node);
    expect(fromContext("stream").fanOut).toBe("stream");
    expect(() => fromContext("batched")).toThrow(/context fanOut must be "direct" or "stream"/);
  });
});
