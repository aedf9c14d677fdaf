import { randomUUID } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { AwsServiceError } from "./aws-error.js";
import { closeServer, httpUrl, listen } from "./http-server.js";
import { describeError, type LocalLogger } from "./log.js";
import { type AttributeMap, compareSequence, type StreamLog } from "./stream-log.js";

/** DynamoDB's largest request (a BatchWriteItem of 25 items of 400 KB each, with room). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** GetRecords returns at most this many records per call, as DynamoDB Streams does. */
const MAX_GET_RECORDS = 1000;
const DYNAMODB_TARGET = "DynamoDB_20120810.";
const STREAMS_TARGET = "DynamoDBStreams_20120810.";
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]);

export interface StreamFrontOptions {
  readonly host: string;
  readonly port: number;
  /** The DynamoDB endpoint behind the front (dynalite, in this process or another). */
  readonly target: string;
  readonly tableName: string;
  /** Key attribute names of the table, partition key first. */
  readonly keySchema: readonly string[];
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly stream: StreamLog;
  readonly log: LocalLogger;
}

export interface StreamFront {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * DynamoDB Streams in front of a DynamoDB endpoint that has none (dynalite). Every request is
 * forwarded as it came; a write to the table (PutItem, UpdateItem, DeleteItem, BatchWriteItem) is
 * also recorded on the stream: its keys and old items are logged first (one write per key at a
 * time), the request is forwarded, the items are read again, and each change becomes an INSERT,
 * MODIFY or REMOVE record with the NEW_IMAGE, before the caller gets its answer. Requests with
 * the `DynamoDBStreams_20120810` target are the Streams API (ListStreams, DescribeStream,
 * GetShardIterator, GetRecords) over the same log. The front knows the endpoint behind it only by
 * URL, so DynamoDB may run in another process.
 */
export async function startStreamFront(options: StreamFrontOptions): Promise<StreamFront> {
  const client = new DynamoDBClient({
    endpoint: options.target,
    region: options.region,
    credentials: options.credentials,
  });
  const locks = new KeyLocks();
  const itemsOf = (keys: readonly AttributeMap[]) =>
    Promise.all(
      keys.map(async (key) => {
        const { Item } = await client.send(
          new GetItemCommand({ TableName: options.tableName, Key: key as never, ConsistentRead: true }),
        );
        return (Item as AttributeMap | undefined) ?? null;
      }),
    );

  // Writes a crash left between their intent and their records: finished before serving.
  const unfinished = options.stream.unfinished();
  if (unfinished.length > 0)
    options.log.info(`recording ${unfinished.length} writes the last stop cut short`);
  for (const intent of unfinished) {
    options.stream.complete(intent.id, await itemsOf(intent.keys));
  }

  /**
   * Runs a write with its keys locked: old items read and logged, the write forwarded, then the
   * new items taken from the request and answer where they say them (`known`), else read again.
   */
  const recorded = async (
    keys: AttributeMap[],
    forward: () => Promise<Forwarded>,
    known: (answer: Forwarded, old: readonly (AttributeMap | null)[]) => (AttributeMap | null)[] | undefined,
  ): Promise<Forwarded> => {
    const unique = dedupeKeys(keys);
    return locks.run(
      unique.map((key) => JSON.stringify(key)),
      async () => {
        const old = await itemsOf(unique);
        const id = await options.stream.begin(unique, old);
        let answer: Forwarded | undefined;
        try {
          answer = await forward();
        } finally {
          // A cut or failed (5xx) write may still have changed an item: read it again then.
          const after = answer && unique.length === keys.length ? known(answer, old) : undefined;
          options.stream.complete(id, after ?? (await itemsOf(unique)));
        }
        return answer;
      },
    );
  };

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      options.log.warn(`DynamoDB front: ${describeError(error)}`);
      if (!response.headersSent)
        sendError(response, new AwsServiceError("InternalServerError", describeError(error), 500));
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const target = String(request.headers["x-amz-target"] ?? "");
    if (target.startsWith(STREAMS_TARGET)) {
      answerStreams(response, target.slice(STREAMS_TARGET.length), body);
      return;
    }
    const operation = target.startsWith(DYNAMODB_TARGET) ? target.slice(DYNAMODB_TARGET.length) : "";
    const keys = WRITES.has(operation) ? writtenKeys(operation, body) : [];
    if (keys.length === 0) {
      const answer = await forwardRequest(options.target, request, body);
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
      return;
    }
    const input = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    // An update's new item comes back in its answer when asked for: ask, and answer the caller
    // without it when it did not ask.
    const injectAllNew = operation === "UpdateItem" && (input.ReturnValues ?? "NONE") === "NONE";
    const sent = injectAllNew ? Buffer.from(JSON.stringify({ ...input, ReturnValues: "ALL_NEW" })) : body;
    let answer = await recorded(
      keys,
      () => forwardRequest(options.target, request, sent),
      (reply, old) => newItems(operation, input, reply, old),
    );
    if (injectAllNew && answer.status === 200) answer = withoutAttributes(answer);
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
  }

  /**
   * The items after a write, as its request and answer tell them: a refused write (4xx) changed
   * nothing; a put wrote its item, a delete removed it, an update with ALL_NEW returned it; a
   * batch wrote all but its unprocessed items. Undefined when they do not tell (the items are read).
   */
  function newItems(
    operation: string,
    input: Record<string, unknown>,
    answer: Forwarded,
    old: readonly (AttributeMap | null)[],
  ): (AttributeMap | null)[] | undefined {
    if (answer.status >= 400 && answer.status < 500) return [...old];
    if (answer.status !== 200) return undefined;
    let output: Record<string, unknown>;
    try {
      output = JSON.parse(answer.body.toString("utf8") || "{}") as Record<string, unknown>;
    } catch {
      return undefined;
    }
    switch (operation) {
      case "PutItem":
        return [input.Item as AttributeMap];
      case "DeleteItem":
        return [null];
      case "UpdateItem":
        return input.ReturnValues === undefined ||
          input.ReturnValues === "NONE" ||
          input.ReturnValues === "ALL_NEW"
          ? [(output.Attributes as AttributeMap | undefined) ?? null]
          : undefined;
      case "BatchWriteItem": {
        const requests = (input.RequestItems as Record<string, unknown[]>)[options.tableName] ?? [];
        if (requests.length !== old.length) return undefined;
        const unprocessed = new Set(
          ((output.UnprocessedItems as Record<string, unknown[]> | undefined)?.[options.tableName] ?? []).map(
            (entry) => JSON.stringify(keyOfRequest(entry)),
          ),
        );
        return requests.map((entry, i) => {
          if (unprocessed.has(JSON.stringify(keyOfRequest(entry)))) return old[i] ?? null;
          const put = (entry as { PutRequest?: { Item?: AttributeMap } }).PutRequest;
          return put?.Item ?? null;
        });
      }
      default:
        return undefined;
    }
  }

  function keyOfRequest(entry: unknown): AttributeMap | undefined {
    const request = entry as { PutRequest?: { Item?: AttributeMap }; DeleteRequest?: { Key?: AttributeMap } };
    const item = request?.PutRequest?.Item ?? request?.DeleteRequest?.Key;
    if (!item) return undefined;
    return Object.fromEntries(options.keySchema.map((name) => [name, item[name]]));
  }

  /** The table's keys a write request touches (none for other tables or unreadable bodies). */
  function writtenKeys(operation: string, body: Buffer): AttributeMap[] {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    } catch {
      return [];
    }
    const keyOf = (item: unknown): AttributeMap | undefined => {
      if (typeof item !== "object" || item === null) return undefined;
      const key: AttributeMap = {};
      for (const name of options.keySchema) {
        const value = (item as Record<string, unknown>)[name];
        if (value === undefined) return undefined;
        key[name] = value;
      }
      return key;
    };
    if (operation === "BatchWriteItem") {
      const requests = (input.RequestItems as Record<string, unknown> | undefined)?.[options.tableName];
      if (!Array.isArray(requests)) return [];
      return requests.flatMap(
        (entry: { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }) => {
          const key = keyOf(entry?.PutRequest?.Item ?? entry?.DeleteRequest?.Key);
          return key ? [key] : [];
        },
      );
    }
    if (input.TableName !== options.tableName) return [];
    const key = keyOf(operation === "PutItem" ? input.Item : input.Key);
    return key ? [key] : [];
  }

  function answerStreams(response: ServerResponse, operation: string, body: Buffer): void {
    try {
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        throw new AwsServiceError("SerializationException", "The request body is not JSON.");
      }
      sendJson(response, streamsOperation(operation, input));
    } catch (error) {
      if (error instanceof AwsServiceError) sendError(response, error);
      else throw error;
    }
  }

  function streamsOperation(operation: string, input: Record<string, unknown>): unknown {
    const { stream } = options;
    const label = stream.streamArn.split("/stream/")[1] ?? "";
    const shardId = (shard: number) => stream.shardId(shard);
    const checkArn = () => {
      if (input.StreamArn !== stream.streamArn)
        throw new AwsServiceError(
          "ResourceNotFoundException",
          `Requested resource not found: Stream: ${String(input.StreamArn)} not found`,
        );
    };
    switch (operation) {
      case "ListStreams":
        if (input.TableName !== undefined && input.TableName !== options.tableName) return { Streams: [] };
        return {
          Streams: [{ StreamArn: stream.streamArn, TableName: options.tableName, StreamLabel: label }],
        };
      case "DescribeStream":
        checkArn();
        return {
          StreamDescription: {
            StreamArn: stream.streamArn,
            StreamLabel: label,
            StreamStatus: "ENABLED",
            StreamViewType: "NEW_IMAGE",
            TableName: options.tableName,
            KeySchema: options.keySchema.map((name, i) => ({
              AttributeName: name,
              KeyType: i === 0 ? "HASH" : "RANGE",
            })),
            Shards: Array.from({ length: stream.shardCount }, (_, shard) => ({
              ShardId: shardId(shard),
              SequenceNumberRange: { StartingSequenceNumber: stream.oldest(shard) ?? "0" },
            })),
          },
        };
      case "GetShardIterator": {
        checkArn();
        const shard = Array.from({ length: stream.shardCount }, (_, i) => i).find(
          (i) => shardId(i) === input.ShardId,
        );
        if (shard === undefined)
          throw new AwsServiceError(
            "ResourceNotFoundException",
            `Requested resource not found: Shard: ${String(input.ShardId)} not found`,
          );
        const sequence = typeof input.SequenceNumber === "string" ? input.SequenceNumber : undefined;
        let after: string | undefined;
        switch (input.ShardIteratorType) {
          case "TRIM_HORIZON":
            after = undefined;
            break;
          case "LATEST":
            after = stream.latest(shard) ?? "0";
            break;
          case "AT_SEQUENCE_NUMBER":
          case "AFTER_SEQUENCE_NUMBER":
            if (!sequence || !/^\d{1,40}$/.test(sequence))
              throw new AwsServiceError(
                "ValidationException",
                "SequenceNumber must be a decimal sequence number.",
              );
            after =
              input.ShardIteratorType === "AFTER_SEQUENCE_NUMBER"
                ? sequence
                : String(BigInt(sequence) - 1n).padStart(sequence.length, "0");
            break;
          default:
            throw new AwsServiceError(
              "ValidationException",
              "ShardIteratorType must be TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER.",
            );
        }
        return { ShardIterator: encodeIterator({ shard, after }) };
      }
      case "GetRecords": {
        const iterator = decodeIterator(input.ShardIterator, stream.shardCount);
        const limit = input.Limit === undefined ? MAX_GET_RECORDS : Number(input.Limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_GET_RECORDS)
          throw new AwsServiceError("ValidationException", `Limit must be from 1 to ${MAX_GET_RECORDS}.`);
        const records = stream.read(iterator.shard, iterator.after, limit);
        const last = records.at(-1)?.dynamodb.SequenceNumber ?? iterator.after;
        return {
          Records: records.map(({ eventSourceARN: _arn, ...record }) => record),
          NextShardIterator: encodeIterator({ shard: iterator.shard, after: last }),
        };
      }
      default:
        throw new AwsServiceError(
          "UnknownOperationException",
          `${operation} is not a DynamoDB Streams operation.`,
        );
    }
  }

  const port = await listen(server, "DynamoDB (dynalite) with streams", options.host, options.port);
  return {
    endpoint: httpUrl(options.host, port),
    port,
    async close() {
      await closeServer(server);
      client.destroy();
    },
  };
}

interface Forwarded {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

function forwardRequest(target: string, request: IncomingMessage, body: Buffer): Promise<Forwarded> {
  const url = new URL(target);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: url.host, "content-length": String(body.byteLength) },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.once("end", () => {
          const headers: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (
              value !== undefined &&
              name !== "connection" &&
              name !== "keep-alive" &&
              name !== "transfer-encoding"
            )
              headers[name] = value;
          }
          const all = Buffer.concat(chunks);
          headers["content-length"] = String(all.byteLength);
          resolve({ status: answer.statusCode ?? 500, headers, body: all });
        });
        answer.once("error", reject);
      },
    );
    outgoing.once("error", reject);
    outgoing.end(body);
  });
}

/** The answer without the `Attributes` the front asked for on the caller's behalf. */
function withoutAttributes(answer: Forwarded): Forwarded {
  const { Attributes: _attributes, ...rest } = JSON.parse(answer.body.toString("utf8")) as Record<
    string,
    unknown
  >;
  const body = Buffer.from(JSON.stringify(rest));
  // The body changed, so its CRC32 header no longer fits; the SDK checks it only when present.
  const { "x-amz-crc32": _crc, ...headers } = answer.headers;
  return { ...answer, headers: { ...headers, "content-length": String(body.byteLength) }, body };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_REQUEST_BYTES) {
        request.destroy();
        reject(
          new AwsServiceError("ValidationException", "The request is larger than DynamoDB accepts.", 413),
        );
        return;
      }
      chunks.push(chunk);
    });
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

function sendJson(response: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": randomUUID(),
  });
  response.end(body);
}

function sendError(response: ServerResponse, error: AwsServiceError): void {
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${error.type}`,
    message: error.message,
  });
  response.writeHead(error.statusCode, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": error.code,
    "x-amzn-requestid": randomUUID(),
  });
  response.end(body);
}

interface Iterator {
  readonly shard: number;
  readonly after: string | undefined;
}

function encodeIterator(iterator: Iterator): string {
  return Buffer.from(JSON.stringify(iterator)).toString("base64url");
}

function decodeIterator(value: unknown, shardCount: number): Iterator {
  const invalid = () => new AwsServiceError("ValidationException", "Invalid ShardIterator.");
  if (typeof value !== "string" || value.length > 512) throw invalid();
  let parsed: { shard?: unknown; after?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as typeof parsed;
  } catch {
    throw invalid();
  }
  const { shard, after } = parsed;
  if (typeof shard !== "number" || !Number.isInteger(shard) || shard < 0 || shard >= shardCount)
    throw invalid();
  if (after !== undefined && (typeof after !== "string" || !/^\d{1,40}$/.test(after))) throw invalid();
  return { shard, after };
}

function dedupeKeys(keys: readonly AttributeMap[]): AttributeMap[] {
  const seen = new Map<string, AttributeMap>();
  for (const key of keys) seen.set(JSON.stringify(key), key);
  return [...seen.values()];
}

/** One write per key at a time (keys taken in sorted order, so two batches never wait on each other). */
class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const previous = sorted.map((key) => this.#tails.get(key) ?? Promise.resolve());
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const key of sorted) this.#tails.set(key, mine);
    try {
      await Promise.all(previous);
      return await task();
    } finally {
      release();
      for (const key of sorted) if (this.#tails.get(key) === mine) this.#tails.delete(key);
    }
  }
}

export { compareSequence };
