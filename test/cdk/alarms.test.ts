import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type * as sns from "aws-cdk-lib/aws-sns";
import { beforeAll, describe, expect, it } from "vitest";
import { createTelemetry, type MetricName } from "../../lambdas/shared/telemetry.js";
import { apiPropsFromContext, TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { appWithoutBundling, deployContext, logicalId, outputs, resources } from "./template-helpers.js";

type AlarmJson = { Properties: Record<string, unknown> };

const alarmsOf = (template: Template) =>
  Object.values(template.findResources("AWS::CloudWatch::Alarm")) as AlarmJson[];

/** The EMF document the functions' telemetry writes for one metric (real Powertools, stdout captured). */
function emfDocument(
  functionName: string,
  metric: MetricName,
): {
  namespace: string;
  dimensions: { Name: string; Value: string }[];
} {
  const written: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const { metrics } = createTelemetry({ POWERTOOLS_LOG_LEVEL: "SILENT" }, functionName);
    metrics.count(metric);
    metrics.flush();
  } finally {
    process.stdout.write = write;
  }
  const document = JSON.parse(written.join("").trim()) as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
  };
  const [directive] = document._aws.CloudWatchMetrics;
  const names = directive?.Dimensions[0] ?? [];
  return {
    namespace: directive?.Namespace ?? "",
    // Sorted by name, as CloudFormation's alarm lists them (dimensions are a set).
    dimensions: names
      .map((name) => ({ Name: name, Value: String(document[name]) }))
      .sort((a, b) => a.Name.localeCompare(b.Name)),
  };
}

describe("alarms (no topic configured)", () => {
  let stack: TraceStreamStack;
  let template: Template;
  beforeAll(() => {
    stack = new TraceStreamStack(appWithoutBundling(), "Alarms");
    template = Template.fromStack(stack);
  });

  const firesOnFirst = {
    Threshold: 0,
    ComparisonOperator: "GreaterThanThreshold",
    EvaluationPeriods: 1,
    TreatMissingData: "notBreaching",
  };

  it("alarms when the authorizer cannot check tokens, on the metric the authorizer writes", () => {
    const emitted = emfDocument("authorizer", "AuthorizerFailures");
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...firesOnFirst,
      Namespace: emitted.namespace,
      MetricName: "AuthorizerFailures",
      Dimensions: emitted.dimensions,
      Statistic: "Sum",
      Period: 300,
    });
  });

  /** One metric of a math-expression alarm: the emitter's EMF metric `name`, summed over 5 minutes. */
  const emitterMetric = (id: string, name: MetricName) => {
    const written = emfDocument("emitter", name);
    return Match.objectLike({
      Id: id,
      MetricStat: {
        Metric: { Namespace: written.namespace, MetricName: name, Dimensions: written.dimensions },
        Period: 300,
        Stat: "Sum",
      },
      ReturnData: false,
    });
  };

  it("alarms on failed deliveries, throttled or not, on the metrics the emitter writes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...firesOnFirst,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(failed, 0) + FILL(throttled, 0)" }),
        emitterMetric("failed", "DeliveryFailures"),
        emitterMetric("throttled", "DeliveryThrottled"),
      ]),
    });
  });

  it("alarms when the runs list falls behind, on the metrics the emitter writes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...firesOnFirst,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "FILL(index, 0) + FILL(updates, 0)" }),
        emitterMetric("index", "RunIndexFailures"),
        emitterMetric("updates", "RunUpdateFailures"),
      ]),
    });
    expect(stack.api.alarms.runsListFailures).toBeDefined();
  });

  it("alarms on errors of connect and resume, whose failures viewers see", () => {
    for (const name of ["connect", "resume"] as const) {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        ...firesOnFirst,
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: { Ref: logicalId(stack.api.functions[name]) } }],
      });
    }
  });

  it("does not alarm on the authorizer's Lambda errors: every refused token is one", () => {
    const authorizerErrors = alarmsOf(template).filter(
      (alarm) =>
        alarm.Properties.MetricName === "Errors" &&
        JSON.stringify(alarm.Properties.Dimensions).includes(logicalId(stack.api.functions.authorizer)),
    );
    expect(authorizerErrors).toEqual([]);
  });

  it("alarms on API Gateway's WebSocket ExecutionError for this API's stage", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...firesOnFirst,
      Namespace: "AWS/ApiGateway",
      MetricName: "ExecutionError",
      Dimensions: Match.arrayWith([
        { Name: "ApiId", Value: { Ref: logicalId(stack.api.webSocketApi) } },
        { Name: "Stage", Value: "prod" },
      ]),
      Statistic: "Sum",
    });
  });

  it("notifies nobody and creates no topic when neither a topic nor an email is given", () => {
    for (const alarm of alarmsOf(template)) expect(alarm.Properties.AlarmActions).toBeUndefined();
    template.resourceCountIs("AWS::SNS::Topic", 0);
    expect(outputs(template)).not.toHaveProperty("AlarmTopicArn");
  });
});

describe("alarm notifications", () => {
  it("alarmEmail: every alarm notifies a topic that refuses plain HTTP and has the address subscribed", () => {
    const stack = new TraceStreamStack(appWithoutBundling(), "AlarmEmail", {
      api: { alarmEmail: "oncall@example.com" },
    });
    const template = Template.fromStack(stack);
    const topicRef = { Ref: logicalId(stack.api.alarmTopic as sns.Topic) };
    const alarms = alarmsOf(template);
    expect(alarms.length).toBe(Object.keys(stack.api.alarms).length);
    expect(alarms.length).toBe(10);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@example.com",
      TopicArn: topicRef,
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
    expect(outputs(template).AlarmTopicArn?.Value).toEqual(topicRef);
  });

  it("alarmTopicArn (context): every alarm notifies the existing topic, and nothing is created", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops-pager";
    const app = new App({
      context: {
        ...deployContext(),
        "aws:cdk:bundling-stacks": [],
        alarmTopicArn: arn,
        alarmEmail: "a@b.example",
      },
    });
    const stack = new TraceStreamStack(app, "AlarmTopic", { api: apiPropsFromContext(app.node) });
    const template = Template.fromStack(stack);
    for (const alarm of alarmsOf(template)) expect(alarm.Properties.AlarmActions).toEqual([arn]);
    template.resourceCountIs("AWS::SNS::Topic", 0);
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "a@b.example",
      TopicArn: arn,
    });
  });

  it("refuses an email or a topic ARN that cannot be one, saying what it got", () => {
    expect(
      () => new TraceStreamStack(appWithoutBundling(), "BadEmail", { api: { alarmEmail: "oncall" } }),
    ).toThrow('alarmEmail must be an email address, got "oncall"');
    const app = new App({ context: { "aws:cdk:bundling-stacks": [], alarmTopicArn: "ops-pager" } });
    expect(() => new TraceStreamStack(app, "BadArn")).toThrow(
      /context alarmTopicArn must be an SNS topic ARN/,
    );
  });

  it("names every alarm's purpose in its description", () => {
    const template = Template.fromStack(new TraceStreamStack(appWithoutBundling(), "Descriptions"));
    for (const [id, resource] of Object.entries(resources(template))) {
      if (resource.Type !== "AWS::CloudWatch::Alarm") continue;
      expect(String(resource.Properties?.AlarmDescription).length, id).toBeGreaterThan(30);
    }
  });
});
