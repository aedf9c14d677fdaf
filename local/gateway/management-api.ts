import type { IncomingMessage, ServerResponse } from "node:http";
import { AWS_ERRORS, answer, answerError } from "./aws-responses.js";
import { GOING_AWAY, type LiveConnection } from "./connection.js";
import { type GatewayFaults, type GatewayLogLevel, takeThrottle } from "./options.js";

export type HttpTarget =
  | { readonly kind: "stage" }
  | { readonly kind: "connection"; readonly connectionId: string }
  | { readonly kind: "unknown" };

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Reads `/{stage}` and `/{stage}/@connections/{connectionId}` (the id URL-encoded). */
export function parseHttpTarget(pathname: string, stage: string): HttpTarget {
  const segments = pathname.split("/").slice(1);
  if (segments.at(-1) === "" && segments.length > 1) segments.pop();
  if (decodeSegment(segments[0] ?? "") !== stage) return { kind: "unknown" };
  if (segments.length === 1) return { kind: "stage" };
  const connectionId = decodeSegment(segments[2] ?? "");
  if (segments.length === 3 && decodeSegment(segments[1]!) === "@connections" && connectionId) {
    return { kind: "connection", connectionId };
  }
  return { kind: "unknown" };
}

/**
 * Reads a request body, keeping at most `limit + 1` bytes (enough to know it is too large). Plain
 * stream events rather than `for await`: the async iterator's wrapper and promise per chunk were
 * 2 % of the stack's CPU under load, for bodies that arrive in one chunk.
 */
function readBody(request: IncomingMessage, limit: number): Promise<{ data: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      if (size <= limit) chunks.push(chunk);
      size += chunk.length;
    });
    request.once("end", () => {
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      resolve({ data, tooLarge: size > limit });
    });
    request.once("error", reject);
    // A caller that goes away mid-body: settled once, so this does nothing after "end".
    request.once("close", () => reject(new Error("the request closed before its body ended")));
  });
}

export interface ManagementApiDeps {
  readonly stage: string;
  readonly maxMessageBytes: number;
  readonly faults: GatewayFaults;
  readonly connection: (connectionId: string) => LiveConnection | undefined;
  readonly log: (level: GatewayLogLevel, message: string, data?: Record<string, unknown>) => void;
}

/**
 * The API Gateway Management API (`@connections`) on the gateway's HTTP port: POST sends a
 * message, GET describes the connection, DELETE closes it. Requests must carry an Authorization
 * header (the SDK signs every request; the signature itself is not checked).
 */
export function createManagementApi(deps: ManagementApiDeps) {
  async function post(
    request: IncomingMessage,
    response: ServerResponse,
    connectionId: string,
  ): Promise<void> {
    if (takeThrottle(deps.faults, Date.now())) {
      request.resume();
      deps.log("info", "@connections POST throttled (fault)", { connectionId });
      answerError(response, AWS_ERRORS.throttled);
      return;
    }
    const body = await readBody(request, deps.maxMessageBytes);
    if (body.tooLarge) {
      answerError(response, AWS_ERRORS.payloadTooLarge);
      return;
    }
    const connection = deps.connection(connectionId);
    if (!connection?.open) {
      answerError(response, AWS_ERRORS.gone);
      return;
    }
    try {
      await connection.send(body.data);
    } catch (error) {
      deps.log("info", "@connections POST to a closing connection", { connectionId, error: String(error) });
      answerError(response, AWS_ERRORS.gone);
      return;
    }
    answer(response, 200);
  }

  function get(response: ServerResponse, connectionId: string): void {
    const connection = deps.connection(connectionId);
    if (!connection?.open) {
      answerError(response, AWS_ERRORS.gone);
      return;
    }
    const { sourceIp, userAgent } = connection.facts;
    // The wire names are the model's jsonName values (camelCase) with ISO-8601 times; the SDK
    // turns them into ConnectedAt, Identity.SourceIp, ... AWS leaves out an absent user agent.
    const body = JSON.stringify({
      connectedAt: new Date(connection.facts.connectedAt).toISOString(),
      identity: userAgent === null ? { sourceIp } : { sourceIp, userAgent },
      lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
    });
    answer(response, 200, body);
  }

  function remove(response: ServerResponse, connectionId: string): void {
    const connection = deps.connection(connectionId);
    if (!connection?.open) {
      answerError(response, AWS_ERRORS.gone);
      return;
    }
    answer(response, 204);
    connection.close(GOING_AWAY);
  }

  return async function handle(request: IncomingMessage, response: ServerResponse, connectionId: string) {
    if (!request.headers.authorization) {
      request.resume();
      answerError(response, AWS_ERRORS.missingAuthenticationToken);
      return;
    }
    switch (request.method) {
      case "POST":
        return post(request, response, connectionId);
      case "GET":
        request.resume();
        return get(response, connectionId);
      case "DELETE":
        request.resume();
        return remove(response, connectionId);
      default:
        request.resume();
        answerError(response, AWS_ERRORS.forbidden);
    }
  };
}
