import { Duration } from "aws-cdk-lib";
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { MetricName } from "../lambdas/shared/telemetry.js";
import type { FunctionName } from "./function-names.js";

/** The alarms of a TraceStreamApi; each fires on the first occurrence in its period. */
export interface TraceStreamAlarms {
  /** Trace events dead-lettered: undeliverable to the emitter, or rejected by it. */
  readonly deadLetterQueueDepth: cloudwatch.Alarm;
  /** Emitter invocations that failed after Lambda's retries (storage failures). */
  readonly asyncFailureQueueDepth: cloudwatch.Alarm;
  readonly emitterErrors: cloudwatch.Alarm;
  readonly emitterThrottles: cloudwatch.Alarm;
  /** Posts to viewers that failed after their retries (the events are stored; clients resume them). */
  readonly failedDeliveries: cloudwatch.Alarm;
  /** The authorizer could not check tokens (JWKS or Secrets Manager failing): viewers get 500. */
  readonly authorizerFailures: cloudwatch.Alarm;
  /** `$connect` failed to write the subscription: viewers get 500. */
  readonly connectErrors: cloudwatch.Alarm;
  /** `resume` failed: a viewer gets no history, and reconnects. */
  readonly resumeErrors: cloudwatch.Alarm;
  /** API Gateway could not call an integration (Lambda throttled, unreachable, not permitted). */
  readonly apiExecutionErrors: cloudwatch.Alarm;
  /**
   * The runs list fell behind: a run summary not written (`RunIndexFailures`) or a changed summary
   * not posted to its watchers (`RunUpdateFailures`). Events are stored regardless; the list
   * catches up at the run's next change, and a watcher's next page reads the summaries again.
   */
  readonly runsListFailures: cloudwatch.Alarm;
}

export interface AlarmSources {
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly deadLetterQueue: sqs.IQueue;
  readonly asyncFailureQueue: sqs.IQueue;
  readonly webSocketApi: apigwv2.IWebSocketApi;
  readonly stage: apigwv2.IWebSocketStage;
  /** Powertools' namespace and service: the dimensions of the functions' EMF metrics. */
  readonly metricsNamespace: string;
  readonly serviceName: string;
  /** Where every alarm notifies; none when undefined. */
  readonly topic?: sns.ITopic | undefined;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms on what needs an operator. API Gateway's `IntegrationError` and `ClientError` are not
 * alarmed: they count the 400/403 that connect answers to bad trace ids and the 401s of bad
 * tokens, which anyone on the internet can cause; the function-error alarms below cover the
 * integrations failing. Nor is the authorizer's Lambda `Errors` metric: every refused token is a
 * function error there; its own `AuthorizerFailures` counts only the outages.
 */
export function createAlarms(scope: Construct, sources: AlarmSources): TraceStreamAlarms {
  const action = sources.topic ? new cloudwatchActions.SnsAction(sources.topic) : undefined;
  const atLeastOne = (id: string, description: string, metric: cloudwatch.IMetric) => {
    const alarm = new cloudwatch.Alarm(scope, id, {
      alarmDescription: description,
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (action) alarm.addAlarmAction(action);
    return alarm;
  };
  const everyMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
  const sumOverFiveMinutes = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
  const emf = (functionName: FunctionName, metricName: MetricName) =>
    new cloudwatch.Metric({
      namespace: sources.metricsNamespace,
      metricName,
      dimensionsMap: { service: sources.serviceName, function: functionName },
      ...sumOverFiveMinutes,
    });
  const apiGateway = (metricName: "ExecutionError") =>
    new cloudwatch.Metric({
      namespace: "AWS/ApiGateway",
      metricName,
      dimensionsMap: { ApiId: sources.webSocketApi.apiId, Stage: sources.stage.stageName },
      ...sumOverFiveMinutes,
    });
  const { emitter, connect, resume } = sources.functions;
  return {
    deadLetterQueueDepth: atLeastOne(
      "DeadLetterQueueDepthAlarm",
      "Trace events were dead-lettered (undeliverable to the emitter, or rejected by it with a reason).",
      sources.deadLetterQueue.metricApproximateNumberOfMessagesVisible(everyMinute),
    ),
    asyncFailureQueueDepth: atLeastOne(
      "EmitterFailureQueueDepthAlarm",
      "Emitter invocations failed after Lambda's retries; their events are in the failure queue.",
      sources.asyncFailureQueue.metricApproximateNumberOfMessagesVisible(everyMinute),
    ),
    emitterErrors: atLeastOne(
      "EmitterErrorsAlarm",
      "The emitter function threw (it could not store an event or read its subscribers; Lambda retries it).",
      emitter.metricErrors(sumOverFiveMinutes),
    ),
    emitterThrottles: atLeastOne(
      "EmitterThrottlesAlarm",
      "The emitter function was throttled (account concurrency).",
      emitter.metricThrottles(sumOverFiveMinutes),
    ),
    failedDeliveries: atLeastOne(
      "FailedDeliveriesAlarm",
      "Posts to viewers failed after their retries (@connections errors or throttling). The events are stored; the viewers read them on their next resume.",
      new cloudwatch.MathExpression({
        expression: "FILL(failed, 0) + FILL(throttled, 0)",
        usingMetrics: {
          failed: emf("emitter", "DeliveryFailures"),
          throttled: emf("emitter", "DeliveryThrottled"),
        },
        label: "Failed deliveries",
        period: FIVE_MINUTES,
      }),
    ),
    authorizerFailures: atLeastOne(
      "AuthorizerFailuresAlarm",
      "The authorizer could not check tokens (JWKS or Secrets Manager unreachable): viewers are answered 500 and retry.",
      emf("authorizer", "AuthorizerFailures"),
    ),
    connectErrors: atLeastOne(
      "ConnectErrorsAlarm",
      "The $connect function threw (it could not write a subscription): viewers are answered 500 and retry.",
      connect.metricErrors(sumOverFiveMinutes),
    ),
    resumeErrors: atLeastOne(
      "ResumeErrorsAlarm",
      "The resume function threw (it could not read the history): viewers miss their replay and reconnect.",
      resume.metricErrors(sumOverFiveMinutes),
    ),
    apiExecutionErrors: atLeastOne(
      "ApiExecutionErrorsAlarm",
      "API Gateway could not call a route's function (throttled, timed out or not permitted).",
      apiGateway("ExecutionError"),
    ),
    runsListFailures: atLeastOne(
      "RunsListFailuresAlarm",
      RUNS_LIST_FAILURES,
      runsListFailures((metricName) => emf("emitter", metricName)),
    ),
  };
}

/** `RunIndexFailures` + `RunUpdateFailures` of one function, the runs list's two ways to fall behind. */
function runsListFailures(metric: (metricName: MetricName) => cloudwatch.IMetric): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: "FILL(index, 0) + FILL(updates, 0)",
    usingMetrics: { index: metric("RunIndexFailures"), updates: metric("RunUpdateFailures") },
    label: "Runs list failures",
    period: FIVE_MINUTES,
  });
}

const RUNS_LIST_FAILURES =
  "The runs list fell behind: a run summary was not written, or a changed one was not posted to its watchers. Events are stored; the list catches up at the run's next change, and watchers' next page reads it again.";

/** The stream mode's alarms (`fanOut: "stream"`). */
export interface FanOutAlarms {
  /** The fan-out function threw (a batch is retried, then bisected, then sent to the failure queue). */
  readonly errors: cloudwatch.Alarm;
  /** The oldest record the mapping handed over was over a minute old: viewers see events late. */
  readonly iteratorAge: cloudwatch.Alarm;
  /** The fan-out's posts that failed after their retries (the events are stored; clients resume). */
  readonly failedDeliveries: cloudwatch.Alarm;
  /** In this mode the fan-out writes the run summaries and posts their changes: as `runsListFailures`. */
  readonly runsListFailures: cloudwatch.Alarm;
}

/** One minute: with a 2 s batching window, records that old mean the fan-out is falling behind. */
export const FAN_OUT_ITERATOR_AGE_ALARM_MS = 60_000;

export function createFanOutAlarms(
  scope: Construct,
  fanOut: lambda.IFunction,
  sources: Pick<AlarmSources, "metricsNamespace" | "serviceName" | "topic">,
): FanOutAlarms {
  const action = sources.topic ? new cloudwatchActions.SnsAction(sources.topic) : undefined;
  const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 0) => {
    const created = new cloudwatch.Alarm(scope, id, {
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (action) created.addAlarmAction(action);
    return created;
  };
  const sumOverFiveMinutes = { period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM };
  const emf = (metricName: MetricName) =>
    new cloudwatch.Metric({
      namespace: sources.metricsNamespace,
      metricName,
      dimensionsMap: { service: sources.serviceName, function: "fan-out" },
      ...sumOverFiveMinutes,
    });
  return {
    errors: alarm(
      "FanOutErrorsAlarm",
      "The fan-out function threw (it could not read the events' records); the stream retries the batch.",
      fanOut.metricErrors(sumOverFiveMinutes),
    ),
    iteratorAge: alarm(
      "FanOutIteratorAgeAlarm",
      "The fan-out is over a minute behind the table's stream: viewers see events late (they are stored, and resume reads them).",
      fanOut.metric("IteratorAge", { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      FAN_OUT_ITERATOR_AGE_ALARM_MS,
    ),
    failedDeliveries: alarm(
      "FanOutFailedDeliveriesAlarm",
      "The fan-out's posts to viewers failed after their retries. The events are stored; the viewers read them on their next resume.",
      new cloudwatch.MathExpression({
        expression: "FILL(failed, 0) + FILL(throttled, 0)",
        usingMetrics: { failed: emf("DeliveryFailures"), throttled: emf("DeliveryThrottled") },
        label: "Failed fan-out deliveries",
        period: FIVE_MINUTES,
      }),
    ),
    runsListFailures: alarm("FanOutRunsListFailuresAlarm", RUNS_LIST_FAILURES, runsListFailures(emf)),
  };
}
