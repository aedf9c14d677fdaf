import { utf8Bytes } from "../protocol/limits.js";
import { AwsServiceError } from "./aws-error.js";
import {
  DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
  type LocalQueue,
  type MessageAttributeValue,
} from "./sqs-queue.js";

/** SQS's message size limit (1 MiB since August 2025). */
export const MAX_SQS_MESSAGE_BYTES = 1024 * 1024;
const MAX_WAIT_SECONDS = 20;

export type SqsOperation =
  | "SendMessage"
  | "ReceiveMessage"
  | "DeleteMessage"
  | "GetQueueAttributes"
  | "GetQueueUrl"
  | "PurgeQueue"
  | "ListQueues";

/**
 * The SQS operations of the AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Operation>`) that
 * the dead-letter queue needs, over a set of in-memory queues.
 */
export class SqsApi {
  private readonly byName = new Map<string, LocalQueue>();

  /** `http://host:port/{account}/{name}` once the server listens. */
  private readonly urlOf: (queue: LocalQueue) => string;
  /** Aborted when the server stops: long polls return at once. */
  private readonly signal: AbortSignal;
  constructor(queues: readonly LocalQueue[], urlOf: (queue: LocalQueue) => string, signal: AbortSignal) {
    this.urlOf = urlOf;
    this.signal = signal;
    for (const queue of queues) this.byName.set(queue.name, queue);
  }

  async handle(operation: string, input: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case "SendMessage":
        return this.sendMessage(input);
      case "ReceiveMessage":
        return this.receiveMessage(input);
      case "DeleteMessage":
        this.deleteMessage(input);
        return {};
      case "GetQueueAttributes":
        return this.getQueueAttributes(input);
      case "GetQueueUrl":
        return { QueueUrl: this.urlOf(this.namedQueue(requiredString(input, "QueueName"))) };
      case "PurgeQueue":
        this.queue(input).purge();
        return {};
      case "ListQueues": {
        const prefix = typeof input.QueueNamePrefix === "string" ? input.QueueNamePrefix : "";
        return {
          QueueUrls: [...this.byName.values()].filter((q) => q.name.startsWith(prefix)).map(this.urlOf),
        };
      }
      default:
        throw new AwsServiceError(
          "UnsupportedOperation",
          `The local SQS supports ${["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "PurgeQueue", "ListQueues"].join(", ")}; not ${operation}.`,
          400,
          { "x-amzn-query-error": "AWS.SimpleQueueService.UnsupportedOperation;Sender" },
          "com.amazonaws.sqs#UnsupportedOperation",
        );
    }
  }

  private sendMessage(input: Record<string, unknown>): unknown {
    const queue = this.queue(input);
    const body = requiredString(input, "MessageBody");
    if (body.length === 0) throw invalidParameter("The request must contain the parameter MessageBody.");
    const attributes = readMessageAttributes(input.MessageAttributes);
    const size = utf8Bytes(body) + attributesSize(attributes);
    if (size > MAX_SQS_MESSAGE_BYTES) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_SQS_MESSAGE_BYTES} bytes.`,
      );
    }
    const delay = optionalInteger(input, "DelaySeconds", 0, 900) ?? 0;
    return queue.send(body, attributes, delay);
  }

  private async receiveMessage(input: Record<string, unknown>): Promise<unknown> {
    const queue = this.queue(input);
    const options = {
      max: optionalInteger(input, "MaxNumberOfMessages", 1, 10) ?? 1,
      visibilityTimeoutSeconds:
        optionalInteger(input, "VisibilityTimeout", 0, 43_200) ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
      attributeNames: [...stringList(input.AttributeNames), ...stringList(input.MessageSystemAttributeNames)],
      messageAttributeNames: stringList(input.MessageAttributeNames),
    };
    const waitSeconds = optionalInteger(input, "WaitTimeSeconds", 0, MAX_WAIT_SECONDS) ?? 0;
    const deadline = Date.now() + waitSeconds * 1000;
    let messages = queue.receive(options);
    while (messages.length === 0 && Date.now() < deadline && !this.signal.aborted) {
      await queue.waitForMessage(deadline - Date.now(), this.signal);
      messages = queue.receive(options);
    }
    return messages.length > 0 ? { Messages: messages } : {};
  }

  private deleteMessage(input: Record<string, unknown>): void {
    const queue = this.queue(input);
    const handle = requiredString(input, "ReceiptHandle");
    if (!queue.delete(handle)) {
      throw new AwsServiceError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
        400,
        { "x-amzn-query-error": "ReceiptHandleIsInvalid;Sender" },
        "com.amazonaws.sqs#ReceiptHandleIsInvalid",
      );
    }
  }

  private getQueueAttributes(input: Record<string, unknown>): unknown {
    const queue = this.queue(input);
    const names = stringList(input.AttributeNames);
    const counts = queue.counts();
    const all: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      VisibilityTimeout: String(DEFAULT_VISIBILITY_TIMEOUT_SECONDS),
      MaximumMessageSize: String(MAX_SQS_MESSAGE_BYTES),
      MessageRetentionPeriod: String(14 * 24 * 60 * 60),
      DelaySeconds: "0",
      ReceiveMessageWaitTimeSeconds: "0",
    };
    const wanted = names.includes("All") ? Object.keys(all) : names.filter((name) => name in all);
    return wanted.length > 0
      ? { Attributes: Object.fromEntries(wanted.map((name) => [name, all[name]])) }
      : {};
  }

  /** The queue a `QueueUrl` names; the host part is ignored, as the path alone identifies it. */
  private queue(input: Record<string, unknown>): LocalQueue {
    const url = requiredString(input, "QueueUrl");
    let name: string | undefined;
    try {
      name = new URL(url).pathname.split("/").filter(Boolean).at(-1);
    } catch {
      name = url.split("/").at(-1);
    }
    return this.namedQueue(name ?? "");
  }

  private namedQueue(name: string): LocalQueue {
    const queue = this.byName.get(name);
    if (!queue) {
      throw new AwsServiceError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        400,
        { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" },
        "com.amazonaws.sqs#QueueDoesNotExist",
      );
    }
    return queue;
  }
}

function invalidParameter(message: string): AwsServiceError {
  return new AwsServiceError(
    "InvalidParameterValue",
    message,
    400,
    { "x-amzn-query-error": "InvalidParameterValue;Sender" },
    "com.amazonaws.sqs#InvalidParameterValue",
  );
}

function missingParameter(name: string): AwsServiceError {
  return new AwsServiceError(
    "MissingParameter",
    `The request must contain the parameter ${name}.`,
    400,
    { "x-amzn-query-error": "MissingParameter;Sender" },
    "com.amazonaws.sqs#MissingParameter",
  );
}

function requiredString(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (value === undefined || value === null) throw missingParameter(name);
  if (typeof value !== "string")
    throw invalidParameter(`Value for parameter ${name} is invalid. Reason: must be a string.`);
  return value;
}

function optionalInteger(
  input: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`,
    );
  }
  return value;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

function readMessageAttributes(value: unknown): Record<string, MessageAttributeValue> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw invalidParameter("MessageAttributes must be a map.");
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of Object.entries(value)) {
    const attribute = raw as Partial<MessageAttributeValue> | null;
    if (!attribute || typeof attribute.DataType !== "string") {
      throw invalidParameter(`The message attribute '${name}' must contain a non-empty attribute type.`);
    }
    const isBinary = attribute.DataType.startsWith("Binary");
    const present = isBinary ? attribute.BinaryValue : attribute.StringValue;
    if (typeof present !== "string") {
      throw invalidParameter(
        `The message attribute '${name}' must contain a non-empty message attribute value.`,
      );
    }
    attributes[name] = isBinary
      ? { DataType: attribute.DataType, BinaryValue: present }
      : { DataType: attribute.DataType, StringValue: present };
  }
  return attributes;
}

function attributesSize(attributes: Readonly<Record<string, MessageAttributeValue>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(attributes)) {
    size += utf8Bytes(name) + utf8Bytes(value.DataType);
    size +=
      value.BinaryValue !== undefined
        ? Buffer.from(value.BinaryValue, "base64").length
        : utf8Bytes(value.StringValue ?? "");
  }
  return size;
}
