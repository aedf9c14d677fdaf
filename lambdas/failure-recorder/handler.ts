import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "../shared/aws-clients.js";
import { type EnvRecord, requiredString } from "../shared/config.js";
import { ENV } from "../shared/env-names.js";
import type { HandlerRuntime } from "../shared/runtime.js";
import { createTelemetry } from "../shared/telemetry.js";
import { makeFailureRecorder } from "./failure-recorder.js";

/** The emitter's on-failure destination: redacts Lambda's failure record, then queues it. */
export function createHandler(env: EnvRecord, runtime: HandlerRuntime = {}) {
  const queueUrl = requiredString(env, ENV.failureQueueUrl, "the queue that keeps the emitter's failures");
  const client = sqsClient(env, runtime.signal);
  const { log, metrics } = createTelemetry(env, "failure-recorder");
  const record = makeFailureRecorder({
    queue: {
      async send(body, { condition, requestId }) {
        await client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: body,
            MessageAttributes: {
              CONDITION: { DataType: "String", StringValue: condition },
              REQUEST_ID: { DataType: "String", StringValue: requestId },
            },
          }),
        );
      },
    },
    log,
    metrics,
  });
  return async (event: unknown) => {
    try {
      await record(event);
    } finally {
      metrics.flush();
    }
  };
}
