import { createHash, createHmac, hash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import type { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  type ConnectionGateway,
  deleteConnection,
  type PostResult,
  type PostRetryOptions,
  postWithRetries,
} from "./connection-gateway.js";

/** A refused @connections POST: its HTTP status and, when API Gateway names it, the error type. */
export class ConnectionsApiError extends Error {
  override readonly name = "ConnectionsApiError";
  readonly statusCode: number;
  readonly errorType: string | undefined;
  constructor(statusCode: number, errorType: string | undefined) {
    super(`@connections answered ${statusCode}${errorType ? ` ${errorType}` : ""}`);
    this.statusCode = statusCode;
    this.errorType = errorType;
  }
}

export interface SignedGatewayOptions extends PostRetryOptions {
  /** The stage's callback URL, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  readonly endpoint: string;
  /**
   * Its credentials and region (the SDK's provider chain, with its caching and refresh) sign the
   * posts, and its DeleteConnection closes connections, which is rare enough to keep on the SDK.
   */
  readonly client: ApiGatewayManagementApiClient;
  /** Posts in flight at most (the emitter's EMITTER_CONCURRENCY): the keep-alive sockets kept. */
  readonly sockets: number;
  /** The signing clock (tests fix it). @default Date.now */
  readonly now?: () => number;
  /**
   * A post that has not answered after this long fails as a network failure and is retried. Off by
   * default, as in the SDK: a slow answer may still be a delivery, and its retry a duplicate frame;
   * the Lambda timeout (and the environment's signal) bound a post instead.
   */
  readonly requestTimeoutMs?: number;
}

/** A request as the signer takes it and `node:http` sends it. */
export interface ConnectionsRequest {
  readonly method: "POST";
  readonly protocol: "http:" | "https:";
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/**
 * SHA-256 (or its HMAC with a key) from node:crypto, in the shape the signer asks for. The signer
 * feeds each hash one buffer (the body, the canonical request, the string to sign), so an unkeyed
 * hash of one buffer is the one-shot `crypto.hash` (no Hash object per post: three hash objects a
 * post were a tenth of the signing cost); more buffers fall back to an incremental hash.
 */
class NodeSha256 {
  private readonly secret: SourceData | undefined;
  private chunks: (Uint8Array | string)[] = [];
  constructor(secret?: SourceData) {
    this.secret = secret;
  }
  update(data: SourceData): void {
    this.chunks.push(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    const [only, ...more] = this.chunks;
    if (this.secret === undefined && only !== undefined && more.length === 0)
      return Promise.resolve(hash("sha256", only, "buffer"));
    const incremental =
      this.secret === undefined ? createHash("sha256") : createHmac("sha256", bytesOf(this.secret));
    for (const chunk of this.chunks) incremental.update(chunk);
    return Promise.resolve(incremental.digest());
  }
  reset(): void {
    this.chunks = [];
  }
}

function bytesOf(data: SourceData): Uint8Array | string {
  if (typeof data === "string") return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** encodeURIComponent plus the characters RFC 3986 reserves that it leaves alone, as the SDK encodes. */
function encodePathSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()}`,
  );
}

/**
 * Builds the signed request for one post: the SDK's PostToConnection request (method, path, body,
 * content headers) without its bookkeeping headers (user agent, invocation id), signed with SigV4
 * for `execute-api`.
 */
export function connectionsRequestSigner(options: Pick<SignedGatewayOptions, "endpoint" | "client" | "now">) {
  const url = new URL(options.endpoint);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error(`the @connections endpoint must be an http(s) URL, got ${options.endpoint}`);
  const protocol = url.protocol;
  const port = url.port ? Number(url.port) : undefined;
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  const basePath = url.pathname.replace(/\/+$/, "");
  const signer = new SignatureV4({
    service: "execute-api",
    region: options.client.config.region,
    credentials: options.client.config.credentials,
    sha256: NodeSha256,
  });
  const now = options.now ?? Date.now;
  return async (connectionId: string, body: Uint8Array): Promise<ConnectionsRequest> => {
    const request: ConnectionsRequest = {
      method: "POST",
      protocol,
      hostname: url.hostname,
      ...(port === undefined ? {} : { port }),
      path: `${basePath}/@connections/${encodePathSegment(connectionId)}`,
      query: {},
      headers: {
        "content-type": "application/octet-stream",
        "content-length": String(body.byteLength),
        host,
      },
      body,
    };
    const signed = await signer.sign(request, { signingDate: new Date(now()) });
    return { ...request, headers: signed.headers };
  };
}

/**
 * The @connections gateway the Lambdas use: each post is one SigV4-signed HTTP request on a
 * keep-alive agent with a socket per post in flight. It answers as the SDK path does (410 Gone is
 * "gone"; 429 and 5xx back off and retry; 413 and other refusals throw ConnectionPostError) at a
 * fraction of the CPU: no middleware stack cloned per call, no serde, no endpoint resolution.
 */
export function signedConnectionGateway(options: SignedGatewayOptions): ConnectionGateway {
  const sign = connectionsRequestSigner(options);
  const secure = new URL(options.endpoint).protocol === "https:";
  const agentOptions = { keepAlive: true, maxSockets: options.sockets, maxFreeSockets: options.sockets };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const { requestTimeoutMs } = options;
  const encoder = new TextEncoder();
  let lastFrame: string | undefined;
  let lastBody = new Uint8Array();
  // One listener for every post (not one per request): a stopped environment cuts what is in flight.
  const inFlight = new Set<http.ClientRequest>();
  options.signal?.addEventListener(
    "abort",
    () => {
      for (const outgoing of inFlight) outgoing.destroy(options.signal?.reason);
    },
    { once: true },
  );

  const send = (request: ConnectionsRequest): Promise<PostResult> =>
    new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      const outgoing = (secure ? https : http).request(
        {
          agent,
          method: request.method,
          hostname: request.hostname,
          port: request.port,
          path: request.path,
          headers: request.headers,
          ...(requestTimeoutMs === undefined ? {} : { timeout: requestTimeoutMs }),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          // Drained so the socket goes back to the pool; API Gateway's error bodies are small.
          response.resume();
          response.once("end", () => {
            if (status >= 200 && status < 300) resolve("sent");
            else if (status === 410) resolve("gone");
            else reject(new ConnectionsApiError(status, errorTypeOf(response.headers["x-amzn-errortype"])));
          });
          response.once("error", reject);
        },
      );
      outgoing.once("timeout", () => outgoing.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
      inFlight.add(outgoing);
      outgoing.once("close", () => inFlight.delete(outgoing));
      outgoing.once("error", reject);
      outgoing.end(request.body);
    });

  return {
    async post(connectionId, data) {
      // A fan-out posts one frame to every connection: encoded once, not once per connection.
      if (data !== lastFrame) {
        lastFrame = data;
        lastBody = encoder.encode(data);
      }
      const body = lastBody;
      return postWithRetries(connectionId, async () => send(await sign(connectionId, body)), options);
    },
    close: (connectionId) => deleteConnection(options.client, connectionId),
  };
}

function errorTypeOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(":")[0] || undefined;
}
