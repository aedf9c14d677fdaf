import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, httpUrl, listen } from "./http-server.js";
import type { LocalLogger } from "./log.js";
import { type LocalCaller, SignatureRefused, verifySignature } from "./sigv4.js";

/**
 * Local double of the stack's token endpoint: an API Gateway HTTP API with one route, `GET /token`,
 * authorized with IAM (SigV4), integrated with the `token` function (payload format 2.0). As on
 * AWS, an unknown route answers 404 before any auth, a request that is unsigned, signed with an
 * unknown key, a wrong secret, another region or service, or more than 5 minutes off answers 403,
 * a caller without `execute-api:Invoke` answers 403, and the function's own answer goes back as it
 * is (500 when it throws, 503 when it outlives the integration timeout).
 */

export const TOKEN_ROUTE = { method: "GET", path: "/token" } as const;
const MAX_BODY_BYTES = 64 * 1024;

export interface TokenApiOptions {
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  readonly apiId: string;
  /** Who may sign requests: the endpoint knows their secret keys, as IAM does. */
  readonly callers: readonly LocalCaller[];
  /** Runs the `token` function with a payload-format-2.0 event. */
  readonly invoke: (event: unknown) => Promise<unknown>;
  /** API Gateway HTTP APIs wait 30 s at most. */
  readonly integrationTimeoutMs?: number;
  readonly log: LocalLogger;
}

export interface TokenApi {
  /** `http://host:port/token` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** HTTP API's request id: 10 random bytes, base64 without padding, like "Ab3dEfGhIjKl=". */
const requestId = () => `${randomBytes(9).toString("base64url")}=`;

function answer(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, {
    "content-type": "application/json",
    ...headers,
    "content-length": String(Buffer.byteLength(body)),
    "apigw-requestid": requestId(),
  });
  response.end(body);
}

const message = (text: string) => JSON.stringify({ message: text });

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

class IntegrationTimeout extends Error {}

export async function startTokenApi(options: TokenApiOptions): Promise<TokenApi> {
  const timeoutMs = options.integrationTimeoutMs ?? 30_000;
  const routeArn = `arn:aws:execute-api:${options.region}:${options.accountId}:${options.apiId}/$default/${TOKEN_ROUTE.method}${TOKEN_ROUTE.path}`;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (body === undefined) return answer(response, 413, message("Request Entity Too Large"));
    const target = new URL(request.url ?? "/", "http://token-api.invalid");
    if (request.method !== TOKEN_ROUTE.method || target.pathname !== TOKEN_ROUTE.path) {
      return answer(response, 404, message("Not Found"));
    }
    const rawQuery = target.search.replace(/^\?/, "");
    let caller: LocalCaller;
    try {
      caller = await verifySignature(
        {
          method: request.method,
          host: request.headers.host ?? "",
          path: target.pathname,
          rawQuery,
          headers: request.headers,
          body,
        },
        { callers: options.callers, region: options.region, service: "execute-api" },
      );
    } catch (error) {
      if (!(error instanceof SignatureRefused)) throw error;
      options.log.debug(`GET /token refused: ${error.message}`);
      return answer(response, 403, message(error.message), { "x-amzn-errortype": "ForbiddenException" });
    }
    if (caller.mayInvoke === false) {
      return answer(
        response,
        403,
        message(
          `User: ${caller.arn} is not authorized to perform: execute-api:Invoke on resource: ${routeArn}`,
        ),
        { "x-amzn-errortype": "AccessDeniedException" },
      );
    }
    const now = Date.now();
    const headers = Object.fromEntries(
      Object.entries(request.headersDistinct).map(([name, values]) => [name, (values ?? []).join(",")]),
    );
    const query = new URLSearchParams(rawQuery);
    const queryStringParameters = Object.fromEntries(
      [...new Set(query.keys())].map((name) => [name, query.getAll(name).join(",")]),
    );
    const account = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(caller.arn)?.[1] ?? options.accountId;
    const event = {
      version: "2.0",
      routeKey: `${TOKEN_ROUTE.method} ${TOKEN_ROUTE.path}`,
      rawPath: target.pathname,
      rawQueryString: rawQuery,
      headers,
      ...(rawQuery === "" ? {} : { queryStringParameters }),
      requestContext: {
        accountId: options.accountId,
        apiId: options.apiId,
        authorizer: {
          iam: {
            accessKey: caller.accessKeyId,
            accountId: account,
            callerId: caller.arn.split(":").at(-1),
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: caller.arn,
            userId: caller.arn.split(":").at(-1),
          },
        },
        domainName: request.headers.host ?? "",
        domainPrefix: (request.headers.host ?? "").split(".")[0],
        http: {
          method: request.method,
          path: target.pathname,
          protocol: `HTTP/${request.httpVersion}`,
          sourceIp: request.socket.remoteAddress ?? "",
          userAgent: request.headers["user-agent"] ?? "",
        },
        requestId: requestId(),
        routeKey: `${TOKEN_ROUTE.method} ${TOKEN_ROUTE.path}`,
        stage: "$default",
        time: new Date(now).toUTCString(),
        timeEpoch: now,
      },
      isBase64Encoded: false,
    };

    let result: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      result = await Promise.race([
        options.invoke(event),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new IntegrationTimeout()), timeoutMs);
        }),
      ]);
    } catch (error) {
      if (error instanceof IntegrationTimeout) return answer(response, 503, message("Service Unavailable"));
      options.log.warn(`GET /token: the token function failed: ${(error as Error)?.name ?? "error"}`);
      return answer(response, 500, message("Internal Server Error"));
    } finally {
      clearTimeout(timer);
    }
    const proxy = result as {
      statusCode?: unknown;
      headers?: unknown;
      body?: unknown;
      isBase64Encoded?: unknown;
    };
    if (typeof proxy !== "object" || proxy === null || typeof proxy.statusCode !== "number") {
      // Payload 2.0 without a statusCode: API Gateway answers 200 with the value as JSON.
      return answer(response, 200, JSON.stringify(result ?? null));
    }
    const text =
      typeof proxy.body !== "string"
        ? ""
        : proxy.isBase64Encoded === true
          ? Buffer.from(proxy.body, "base64").toString("utf8")
          : proxy.body;
    const extra = Object.fromEntries(
      Object.entries((proxy.headers ?? {}) as Record<string, unknown>).map(([name, value]) => [
        name.toLowerCase(),
        String(value),
      ]),
    );
    return answer(response, proxy.statusCode, text, extra);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.log.error(`token API: ${error instanceof Error ? error.message : String(error)}`);
      if (!response.headersSent) answer(response, 500, message("Internal Server Error"));
      else response.destroy();
    });
  });
  const port = await listen(server, "Token endpoint (HTTP API)", options.host, options.port);
  return {
    url: `${httpUrl(options.host, port)}${TOKEN_ROUTE.path}`,
    port,
    close: () => closeServer(server),
  };
}
