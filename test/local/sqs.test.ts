import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

let stack: TestStack;
let queueUrl: string;

beforeAll(async () => {
  stack = await startTestStack();
  queueUrl = stack.endpoints.deadLetterQueueUrl;
});
afterAll(() => stack.stop());
beforeEach(async () => {
  await stack.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
});

const depth = async () => {
  const { Attributes } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return Attributes;
};

describe("the dead-letter queue over the SQS JSON protocol", () => {
  it("is found by name and sits on the EventBridge endpoint", async () => {
    const { QueueUrl } = await stack.clients.sqs.send(
      new GetQueueUrlCommand({ QueueName: "trace-stream-dead-letters" }),
    );
    expect(QueueUrl).toBe(queueUrl);
    expect(queueUrl.startsWith(stack.endpoints.eventBridge)).toBe(true);
  });

  it("sends, receives (body MD5 checked by the SDK), hides in flight, and deletes", async () => {
    const sent = await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"code":"invalid_event","reason":"seq: expected number"}',
        MessageAttributes: { ERROR_CODE: { DataType: "String", StringValue: "invalid_event" } },
      }),
    );
    expect(sent.MessageId).toBeDefined();
    expect(await depth()).toEqual({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "0",
    });

    const { Messages } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageAttributeNames: ["All"],
        MaxNumberOfMessages: 10,
      }),
    );
    expect(Messages).toHaveLength(1);
    const [message] = Messages ?? [];
    expect(message?.Body).toBe('{"code":"invalid_event","reason":"seq: expected number"}');
    expect(message?.MessageAttributes?.ERROR_CODE?.StringValue).toBe("invalid_event");
    expect(await depth()).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "1",
    });

    await stack.clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message?.ReceiptHandle }),
    );
    expect(await depth()).toEqual({
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });

  it("makes a received message visible again after its visibility timeout (on the stack's clock)", async () => {
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "retry me" }));
    await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 30 }));
    const hidden = await stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(hidden.Messages ?? []).toEqual([]);
    stack.clock.advance(31_000);
    const again = await stack.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe("2");
  });

  it("leaves messages with deadLetters() untouched and parses JSON bodies", async () => {
    await stack.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"code":"seq_conflict"}',
        MessageAttributes: { ERROR_CODE: { DataType: "String", StringValue: "seq_conflict" } },
      }),
    );
    expect(stack.deadLetters()).toMatchObject([
      {
        body: '{"code":"seq_conflict"}',
        payload: { code: "seq_conflict" },
        attributes: { ERROR_CODE: "seq_conflict" },
      },
    ]);
    expect(await depth()).toMatchObject({ ApproximateNumberOfMessages: "1" });
  });

  it("answers a long poll as soon as a message arrives", async () => {
    const poll = stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }),
    );
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "late" }));
    expect((await poll).Messages?.[0]?.Body).toBe("late");
  });

  it("purges the queue", async () => {
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "a" }));
    await stack.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    expect(stack.deadLetters()).toEqual([]);
  });

  it("raises typed errors for an unknown queue and a malformed receipt handle", async () => {
    await expect(
      stack.clients.sqs.send(new GetQueueUrlCommand({ QueueName: "nope" })),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(
      stack.clients.sqs.send(
        new SendMessageCommand({ QueueUrl: `${stack.endpoints.sqs}/000000000000/nope`, MessageBody: "x" }),
      ),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(
      stack.clients.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: "not a handle!" }),
      ),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it("refuses an out-of-range parameter with InvalidParameterValue", async () => {
    await expect(
      stack.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({ name: "InvalidParameterValue", $metadata: { httpStatusCode: 400 } });
  });

  it("works with a client whose endpoint is only the queue URL's host", async () => {
    const client = new SQSClient({
      region: "us-east-1",
      endpoint: new URL(queueUrl).origin,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    try {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "hello" }));
      expect(stack.deadLetters().map((letter) => letter.body)).toEqual(["hello"]);
    } finally {
      client.destroy();
    }
  });
});
