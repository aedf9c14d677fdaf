import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { MAX_FRAME_BYTES, redact, utf8Bytes } from "../../protocol/index.js";

export type RejectionCode =
  | "invalid_envelope"
  | "unexpected_source"
  | "invalid_event"
  | "event_too_large"
  | "seq_conflict";

/** What the dead-letter queue receives for an event that never reaches clients. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly reason: string;
  /** The EventBridge envelope as received, redacted; the detail is left out when too large. */
  readonly envelope: unknown;
}

export interface DeadLetterPort {
  send(rejection: Rejection): Promise<void>;
}

/** Keeps a dead-letter message well under SQS's limit while holding everything needed to replay it. */
const MAX_DETAIL_BYTES = MAX_FRAME_BYTES;

export function deadLetterBody(rejection: Rejection): string {
  const envelope = redact(rejection.envelope);
  let body = JSON.stringify({ code: rejection.code, reason: rejection.reason, envelope });
  if (utf8Bytes(body) > MAX_DETAIL_BYTES && envelope !== null && typeof envelope === "object") {
    const { detail: _detail, ...rest } = envelope as Record<string, unknown>;
    body = JSON.stringify({
      code: rejection.code,
      reason: rejection.reason,
      envelope: { ...rest, detail_omitted: "the detail is too large to keep in the dead-letter queue" },
    });
  }
  return body;
}

/** Rejections go to SQS with EventBridge's dead-letter attribute names, so one queue reads alike. */
export function sqsDeadLetters(client: SQSClient, queueUrl: string): DeadLetterPort {
  return {
    async send(rejection) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: deadLetterBody(rejection),
          MessageAttributes: {
            ERROR_CODE: { DataType: "String", StringValue: rejection.code },
            ERROR_MESSAGE: { DataType: "String", StringValue: rejection.reason.slice(0, 1024) },
          },
        }),
      );
    },
  };
}
