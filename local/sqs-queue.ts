import { createHash, randomUUID } from "node:crypto";

/** A message attribute as SQS carries it (String, Number or Binary, optionally with a custom type suffix). */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64 in the JSON protocol. */
  readonly BinaryValue?: string;
}

/** A message in the queue, for tests and `deadLetters()`: what was sent, with its attributes flattened. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  /** String and Number attributes by name (Binary ones as base64). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAt: number;
  readonly receiveCount: number;
}

export interface ReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly MD5OfBody: string;
  readonly Body: string;
  readonly Attributes?: Record<string, string>;
  readonly MessageAttributes?: Record<string, MessageAttributeValue>;
  readonly MD5OfMessageAttributes?: string;
}

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
  readonly md5OfMessageAttributes: string | undefined;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  receiptHandle: string | undefined;
}

export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

/**
 * One standard SQS queue in memory: send, receive with a visibility timeout, delete by receipt
 * handle, purge, counts. Time comes from the injected clock so tests can move it.
 */
export class LocalQueue {
  private messages: StoredMessage[] = [];
  private waiters = new Set<() => void>();

  readonly name: string;
  readonly arn: string;
  private readonly now: () => number;
  constructor(name: string, arn: string, now: () => number) {
    this.name = name;
    this.arn = arn;
    this.now = now;
  }

  send(
    body: string,
    messageAttributes: Readonly<Record<string, MessageAttributeValue>> = {},
    delaySeconds = 0,
  ): { MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string } {
    const sentAt = this.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(Buffer.from(body, "utf8")),
      messageAttributes,
      md5OfMessageAttributes:
        Object.keys(messageAttributes).length > 0 ? messageAttributesMd5(messageAttributes) : undefined,
      sentAt,
      visibleAt: sentAt + delaySeconds * 1000,
      receiveCount: 0,
      firstReceivedAt: undefined,
      receiptHandle: undefined,
    };
    this.messages.push(message);
    for (const wake of this.waiters) wake();
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  /** Up to `max` visible messages, hidden for `visibilityTimeoutSeconds` after this receive. */
  receive(options: {
    max: number;
    visibilityTimeoutSeconds: number;
    attributeNames: readonly string[];
    messageAttributeNames: readonly string[];
  }): ReceivedMessage[] {
    const now = this.now();
    const received: ReceivedMessage[] = [];
    for (const message of this.messages) {
      if (received.length >= options.max) break;
      if (message.visibleAt > now) continue;
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + options.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = Buffer.from(`${message.messageId}:${randomUUID()}`).toString("base64");
      received.push(this.toReceived(message, options.attributeNames, options.messageAttributeNames));
    }
    return received;
  }

  /** False when the receipt handle is not one this queue gave out. */
  delete(receiptHandle: string): boolean {
    const index = this.messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index < 0) return this.isWellFormedHandle(receiptHandle);
    this.messages.splice(index, 1);
    return true;
  }

  purge(): void {
    this.messages = [];
  }

  counts(): { visible: number; notVisible: number; delayed: number } {
    const now = this.now();
    let visible = 0;
    let notVisible = 0;
    let delayed = 0;
    for (const message of this.messages) {
      if (message.visibleAt <= now) visible++;
      else if (message.receiveCount > 0) notVisible++;
      else delayed++;
    }
    return { visible, notVisible, delayed };
  }

  /** Every message in the queue, visible or not, without receiving it. */
  peek(): QueuedMessage[] {
    return this.messages.map((message) => ({
      messageId: message.messageId,
      body: message.body,
      attributes: Object.fromEntries(
        Object.entries(message.messageAttributes).map(([name, value]) => [
          name,
          value.StringValue ?? value.BinaryValue ?? "",
        ]),
      ),
      sentAt: message.sentAt,
      receiveCount: message.receiveCount,
    }));
  }

  /** Resolves when a message is sent, after `ms`, or when `signal` aborts (long polling). */
  waitForMessage(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private isWellFormedHandle(receiptHandle: string): boolean {
    // SQS accepts a stale but well-formed handle (the message was already deleted) silently.
    return (
      /^[A-Za-z0-9+/]+=*$/.test(receiptHandle) &&
      Buffer.from(receiptHandle, "base64").toString().includes(":")
    );
  }

  private toReceived(
    message: StoredMessage,
    attributeNames: readonly string[],
    messageAttributeNames: readonly string[],
  ): ReceivedMessage {
    const system: Record<string, string> = {
      SenderId: "000000000000",
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    };
    const wantAll = attributeNames.includes("All");
    const attributes = Object.fromEntries(
      Object.entries(system).filter(([name]) => wantAll || attributeNames.includes(name)),
    );
    const selected = Object.fromEntries(
      Object.entries(message.messageAttributes).filter(([name]) =>
        wantsAttribute(messageAttributeNames, name),
      ),
    );
    const hasSelected = Object.keys(selected).length > 0;
    return {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle as string,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
      ...(hasSelected
        ? { MessageAttributes: selected, MD5OfMessageAttributes: messageAttributesMd5(selected) }
        : {}),
    };
  }
}

function wantsAttribute(requested: readonly string[], name: string): boolean {
  return requested.some(
    (pattern) =>
      pattern === "All" ||
      pattern === ".*" ||
      pattern === name ||
      (pattern.endsWith(".*") && name.startsWith(pattern.slice(0, -1))),
  );
}

function md5Hex(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

/**
 * SQS's digest of message attributes: for each attribute in name order, the name, the data type
 * and the value, each prefixed by its 4-byte big-endian length, with a transport byte (1 string,
 * 2 binary) before the value.
 */
export function messageAttributesMd5(attributes: Readonly<Record<string, MessageAttributeValue>>): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    parts.push(length, data);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name] as MessageAttributeValue;
    lengthPrefixed(Buffer.from(name, "utf8"));
    lengthPrefixed(Buffer.from(value.DataType, "utf8"));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(value.BinaryValue, "base64"));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue ?? "", "utf8"));
    }
  }
  return md5Hex(Buffer.concat(parts));
}
