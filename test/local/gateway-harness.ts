/**
 * Shared by the gateway tests: fake Lambdas at the integration boundary (plain functions that
 * record their events), real `ws` clients, and the gateway on a free port.
 */
import { vi } from "vitest";
import { WebSocket } from "ws";
import type { StageThrottle } from "../../lib/routes.js";
import {
  type GatewayFaults,
  type GatewayLimits,
  type RequestAuthorizerEvent,
  startWebSocketGateway,
  type WebSocketEvent,
  type WebSocketGateway,
} from "../../local/gateway/index.js";

export type FakeLambda = (event: unknown) => unknown;

export interface Invocation {
  readonly functionName: string;
  readonly event: unknown;
}

export function allowPolicy(event: unknown, context: Record<string, string | number | boolean>) {
  const { methodArn } = event as RequestAuthorizerEvent;
  return {
    principalId: "user-1",
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: methodArn }],
    },
    context,
  };
}

export function denyPolicy(event: unknown) {
  const policy = allowPolicy(event, {});
  return {
    ...policy,
    policyDocument: {
      ...policy.policyDocument,
      Statement: [{ ...policy.policyDocument.Statement[0]!, Effect: "Deny" }],
    },
  };
}

/** Behaves like the real functions of lambdas/ in their happy paths. */
const DEFAULT_LAMBDAS: Record<string, FakeLambda> = {
  authorizer: (event) =>
    allowPolicy(event, {
      traceId: (event as RequestAuthorizerEvent).queryStringParameters.traceId ?? "",
      sub: "user-1",
    }),
  connect: () => ({ statusCode: 200 }),
  disconnect: () => ({ statusCode: 200 }),
  resume: () => ({ statusCode: 200 }),
  default: (event) =>
    (event as WebSocketEvent).body === "ping"
      ? { statusCode: 200, body: "pong" }
      : { statusCode: 200, body: '{"type":"error","code":"unknown_action","message":"no such action"}' },
};

export class FakeLambdas {
  readonly calls: Invocation[] = [];
  private readonly overrides: Record<string, FakeLambda> = {};

  /** Replaces one function's behaviour (the others keep their defaults). */
  set(functionName: string, lambda: FakeLambda): void {
    this.overrides[functionName] = lambda;
  }

  readonly invoke = async (functionName: string, event: unknown): Promise<unknown> => {
    this.calls.push({ functionName, event });
    const lambda = this.overrides[functionName] ?? DEFAULT_LAMBDAS[functionName];
    if (!lambda) throw new Error(`No fake Lambda named ${functionName}`);
    return lambda(event);
  };

  eventsOf<T = WebSocketEvent>(functionName: string): T[] {
    return this.calls.filter((call) => call.functionName === functionName).map((call) => call.event as T);
  }

  /** Waits until `functionName` has been invoked `count` times; returns its events. */
  async waitFor<T = WebSocketEvent>(functionName: string, count = 1): Promise<T[]> {
    return vi.waitFor(
      () => {
        const events = this.eventsOf<T>(functionName);
        if (events.length < count) throw new Error(`${functionName} invoked ${events.length}/${count} times`);
        return events;
      },
      { timeout: 2_000, interval: 10 },
    );
  }
}

export interface Harness {
  readonly gateway: WebSocketGateway;
  readonly lambdas: FakeLambdas;
}

export async function startHarness(
  options: {
    limits?: Partial<GatewayLimits>;
    faults?: Partial<GatewayFaults>;
    throttle?: StageThrottle;
  } = {},
): Promise<Harness> {
  const lambdas = new FakeLambdas();
  const gateway = await startWebSocketGateway({ port: 0, invoke: lambdas.invoke, ...options });
  return { gateway, lambdas };
}

export function connectUrl(
  gateway: WebSocketGateway,
  query: Record<string, string> = { traceId: "trace-1", token: "t0k" },
) {
  const search = new URLSearchParams(query).toString();
  return search ? `${gateway.url}?${search}` : gateway.url;
}

/** Opens a client; rejects with the HTTP status when the upgrade is refused. */
export function openClient(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url, protocols, { headers: { "User-Agent": "gateway-test/1.0" } });
    client.once("open", () => resolve(client));
    client.once("error", reject);
  });
}

export interface Refusal {
  readonly status: number;
  readonly errorType: string | undefined;
  readonly body: string;
}

/** Attempts an upgrade that the gateway must refuse; resolves to its HTTP response. */
export function refusalOf(url: string): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url);
    client.once("open", () => {
      client.terminate();
      reject(new Error("The upgrade was accepted"));
    });
    client.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => {
        const errorType = response.headers["x-amzn-errortype"];
        resolve({
          status: response.statusCode ?? 0,
          errorType: typeof errorType === "string" ? errorType : undefined,
          body,
        });
        client.terminate();
      });
    });
    client.once("error", () => {});
  });
}

export function nextMessage(client: WebSocket): Promise<string> {
  return new Promise((resolve) => {
    client.once("message", (data, isBinary) => resolve(isBinary ? `<binary>` : String(data)));
  });
}

export function closed(client: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    client.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }));
  });
}

/** The connection id the gateway gave a client, read from its $connect event. */
export async function connectionIdOf(lambdas: FakeLambdas, index = 0): Promise<string> {
  const events = await lambdas.waitFor("connect", index + 1);
  return events[index]!.requestContext.connectionId;
}

/** API Gateway's id shape: 15 URL-safe base64 characters and one "=". */
export const AWS_ID = /^[A-Za-z0-9_-]{15}=$/;
