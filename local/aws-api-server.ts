import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { AwsServiceError } from "./aws-error.js";
import { closeServer, httpUrl, listen } from "./http-server.js";
import { describeError, type LocalLogger } from "./log.js";
import type { SqsApi } from "./sqs-api.js";

const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export interface AwsApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly putEvents: (input: unknown) => unknown;
  readonly sqs: SqsApi;
  readonly log: LocalLogger;
}

export interface AwsApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * One HTTP endpoint for the two AWS JSON services the stack emulates, told apart by
 * `X-Amz-Target`: EventBridge (`AWSEvents.*`, JSON 1.1) and SQS (`AmazonSQS.*`, JSON 1.0). The
 * SDK clients and the AWS CLI reach both with the same `--endpoint-url`.
 */
export async function startAwsApiServer(options: AwsApiServerOptions): Promise<AwsApiServer> {
  const server = createServer((request, response) => {
    void handle(request, response, options);
  });
  const port = await listen(server, "EventBridge/SQS emulator", options.host, options.port);
  return {
    url: httpUrl(options.host, port),
    port,
    close: () => closeServer(server),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: AwsApiServerOptions) {
  const requestId = randomUUID();
  const target = request.headers["x-amz-target"];
  const jsonVersion = typeof target === "string" && target.startsWith("AmazonSQS.") ? "1.0" : "1.1";
  try {
    if (request.method === "GET" || request.method === "HEAD") {
      send(response, 200, "text/plain", "trace-stream local EventBridge and SQS\n", requestId);
      return;
    }
    if (request.method !== "POST")
      throw new AwsServiceError("UnknownOperationException", "Only POST is supported.", 405);
    const contentType = request.headers["content-type"] ?? "";
    if (typeof target !== "string") {
      if (contentType.startsWith("application/x-www-form-urlencoded")) {
        throw new AwsServiceError(
          "UnsupportedProtocol",
          "This emulator speaks the AWS JSON protocols only. SQS query (form) requests come from old " +
            "clients: use AWS CLI v2.13+ or a current SDK, which use JSON.",
        );
      }
      throw new AwsServiceError("UnknownOperationException", "Missing X-Amz-Target header.");
    }
    const input = parseJson(await readBody(request));
    const [service, operation = ""] = target.split(".");
    let output: unknown;
    if (service === "AWSEvents") {
      if (operation !== "PutEvents") {
        throw new AwsServiceError(
          "UnknownOperationException",
          `The local EventBridge supports PutEvents only; ${operation} is not emulated.`,
        );
      }
      output = await options.putEvents(input);
    } else if (service === "AmazonSQS") {
      output = await options.sqs.handle(operation, input);
    } else {
      throw new AwsServiceError("UnknownOperationException", `Unknown service target ${target}.`);
    }
    send(response, 200, `application/x-amz-json-${jsonVersion}`, JSON.stringify(output), requestId);
  } catch (error) {
    if (!(error instanceof AwsServiceError)) {
      options.log.error(`${target ?? request.method} failed: ${describeError(error)}`);
    }
    const failure =
      error instanceof AwsServiceError
        ? error
        : new AwsServiceError("InternalFailure", "Internal error.", 500);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    for (const [name, value] of Object.entries(failure.headers)) response.setHeader(name, value);
    response.setHeader("x-amzn-ErrorType", failure.code);
    send(
      response,
      failure.statusCode,
      `application/x-amz-json-${jsonVersion}`,
      JSON.stringify({ __type: failure.type, message: failure.message }),
      requestId,
    );
  }
}

function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  requestId: string,
) {
  response.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "x-amzn-RequestId": requestId,
  });
  response.end(body);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(
          new AwsServiceError(
            "RequestEntityTooLarge",
            `Request body exceeds ${MAX_REQUEST_BYTES} bytes.`,
            413,
          ),
        );
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through to the same error as a non-object body
  }
  throw new AwsServiceError("SerializationException", "The request body is not a JSON object.");
}
