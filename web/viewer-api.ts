/**
 * The local viewer server's small API, which lets the page run against the local stack with no
 * configuration:
 *
 *   GET  /api/config              {"mode":"local","webSocketUrl":"ws://127.0.0.1:3001/local","demo":true}
 *   GET  /config.json             the same: the page looks for a hosted viewer's config.json first
 *   GET  /api/token?traceId=T     {"token":"<JWT for T>","expiresInSeconds":3600}
 *   GET  /api/token?traceId=*     a token for every trace (the runs list)
 *   POST /api/demo                {"traceId":"demo-..."}   (201: a simulated run has started)
 *
 * It mints tokens for anyone who can reach it, so it only answers requests addressed to a loopback
 * host (no DNS rebinding) and refuses cross-site POSTs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { TRACE_ID_PATTERN } from "../protocol/trace-event.js";
import type { LocalServerConfig } from "./viewer-config.js";

/** What the API needs of a local stack (`LocalStack` fits). */
export interface ViewerStack {
  readonly endpoints: { readonly webSocketUrl: string; readonly eventBridge: string };
  readonly busName: string;
  readonly source: string;
  mintToken(traceIds: readonly string[] | string, ttlSeconds?: number): Promise<string>;
}

export interface ViewerApiDeps {
  readonly stack: ViewerStack | undefined;
  /** Starts a simulated run and returns its trace id; undefined when demos are off. */
  readonly startDemo: (() => string) | undefined;
  readonly log: (message: string) => void;
}

export const TOKEN_TTL_SECONDS = 3600;

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

export type ApiHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export function createViewerApi(deps: ViewerApiDeps): ApiHandler {
  return async (request, response) => {
    const url = new URL(request.url ?? "/", "http://viewer.invalid");
    request.resume();
    if (!isLoopbackHostHeader(request.headers.host)) {
      answer(response, 403, {
        message: "the viewer API answers only requests addressed to 127.0.0.1 or localhost",
      });
      return;
    }
    if (deps.stack === undefined) {
      answer(response, 404, {
        message: "this viewer server runs without a local stack; configure the page instead",
      });
      return;
    }
    const stack = deps.stack;
    switch (url.pathname) {
      // The page reads ./config.json before anything else (a hosted viewer's config); here it gets
      // the local config, which it does not take for a hosted one, instead of a 404 in its console.
      case "/config.json":
      case "/api/config":
        if (!allow(request, response, "GET")) return;
        answer(response, 200, {
          mode: "local",
          webSocketUrl: stack.endpoints.webSocketUrl,
          demo: deps.startDemo !== undefined,
        } satisfies LocalServerConfig);
        return;
      case "/api/token": {
        if (!allow(request, response, "GET")) return;
        const traceId = url.searchParams.get("traceId");
        if (traceId === null || traceId === "") {
          answer(response, 400, { message: "traceId is required: GET /api/token?traceId=T" });
          return;
        }
        // `*` is the runs list's scope (web/use-runs.ts): every trace, as anything else is here.
        if (traceId !== "*" && !TRACE_ID_PATTERN.test(traceId)) {
          answer(response, 400, { message: "traceId must be 1-128 characters of A-Za-z0-9._:/-, or *" });
          return;
        }
        const token = await stack.mintToken([traceId], TOKEN_TTL_SECONDS);
        answer(response, 200, { token, expiresInSeconds: TOKEN_TTL_SECONDS });
        return;
      }
      case "/api/demo": {
        if (!allow(request, response, "POST")) return;
        if (!isSameOrigin(request)) {
          answer(response, 403, { message: "cross-site requests may not start a demo" });
          return;
        }
        if (deps.startDemo === undefined) {
          answer(response, 404, { message: "demos are turned off on this viewer server" });
          return;
        }
        let traceId: string;
        try {
          traceId = deps.startDemo();
        } catch (error) {
          answer(response, 503, { message: error instanceof Error ? error.message : String(error) });
          return;
        }
        deps.log(`demo run started: ${traceId}`);
        answer(response, 201, { traceId });
        return;
      }
      default:
        answer(response, 404, { message: `no such endpoint: ${url.pathname}` });
    }
  };
}

function allow(request: IncomingMessage, response: ServerResponse, method: "GET" | "POST"): boolean {
  if (request.method === method || (method === "GET" && request.method === "HEAD")) return true;
  response.setHeader("allow", method === "GET" ? "GET, HEAD" : method);
  answer(response, 405, { message: `use ${method}` });
  return false;
}

function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  return name !== undefined && (LOOPBACK_NAMES.has(name) || /^127(?:\.\d{1,3}){3}$/.test(name));
}

/** A browser always sends Origin on POST; it must be this server's own. Non-browser clients send none. */
function isSameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  response.end(text);
}
