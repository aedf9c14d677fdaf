import type { StageThrottle } from "../../lib/routes.js";
import { IDLE_TIMEOUT_MS, MAX_CONNECTION_MS, MAX_FRAME_BYTES } from "../../protocol/limits.js";

/**
 * Failure knobs for tests. `gateway.faults` is live: change a field and the next connection close
 * or @connections POST sees it.
 */
export interface GatewayFaults {
  /** Connections still close, but `$disconnect` is not invoked (AWS delivers it best effort only). */
  dropDisconnect: boolean;
  /**
   * Answer the next N @connections POSTs with 429 LimitExceededException; each throttled POST
   * counts one down. The AWS SDK retries 429s (3 attempts by default), so N attempts fail, not N
   * calls.
   */
  throttlePosts: number;
  /** Answer every @connections POST with 429 until this epoch-ms time (0: off). */
  throttleUntil: number;
}

export interface GatewayLimits {
  /** Close after this long without a message in either direction (pings do not count). @default 10 min */
  readonly idleTimeoutMs: number;
  /** Close this long after connecting, whatever the traffic. @default 2 h */
  readonly maxConnectionMs: number;
  /** Largest message in either direction: bigger inbound closes with 1009, bigger POST is 413. @default 128 KiB */
  readonly maxMessageBytes: number;
  /** How long API Gateway waits for an integration before giving up. @default 29 s */
  readonly integrationTimeoutMs: number;
}

export type GatewayLogLevel = "info" | "warn" | "error";

export interface GatewayOptions {
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks a free port. @default 3001 */
  readonly port?: number;
  /** @default "local" */
  readonly stage?: string;
  /** Used in requestContext.apiId and the authorizer's methodArn. @default "local" */
  readonly apiId?: string;
  /** Region in the authorizer's methodArn. @default "us-east-1" */
  readonly region?: string;
  /** Account in the authorizer's methodArn. @default "000000000000" */
  readonly accountId?: string;
  /**
   * Invokes a Lambda by function name ("authorizer" or a RouteFunction of lib/routes.ts) with an
   * event; resolves to the handler's result and rejects with the handler's error.
   */
  readonly invoke: (functionName: string, event: unknown) => Promise<unknown>;
  readonly limits?: Partial<GatewayLimits> | undefined;
  /** The stage's route throttles. @default DEFAULT_STAGE_THROTTLE, as the CDK stack deploys */
  readonly throttle?: StageThrottle;
  /** Initial fault settings; mutate `gateway.faults` afterwards. */
  readonly faults?: Partial<GatewayFaults> | undefined;
  readonly log?: (level: GatewayLogLevel, message: string, data?: Record<string, unknown>) => void;
}

/** An open connection, as the gateway sees it. */
export interface ConnectionInfo {
  readonly connectionId: string;
  /** Epoch ms. */
  readonly connectedAt: number;
  /** Epoch ms of the last message in either direction. */
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string | null;
  /** `requestContext.authorizer` of this connection's events (principalId, context values). */
  readonly authorizer: Readonly<Record<string, string | number>> | undefined;
}

export interface WebSocketGateway {
  /** ws://host:port/stage */
  readonly url: string;
  /** http://host:port/stage: the endpoint of ApiGatewayManagementApiClient. */
  readonly managementEndpoint: string;
  readonly port: number;
  readonly faults: GatewayFaults;
  readonly limits: GatewayLimits;
  connections(): ConnectionInfo[];
  /** Closes every connection (1001, each followed by `$disconnect` unless dropped), then the server. */
  close(): Promise<void>;
}

export function resolveLimits(limits: Partial<GatewayLimits> | undefined): GatewayLimits {
  const resolved: GatewayLimits = {
    idleTimeoutMs: limits?.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    maxConnectionMs: limits?.maxConnectionMs ?? MAX_CONNECTION_MS,
    maxMessageBytes: limits?.maxMessageBytes ?? MAX_FRAME_BYTES,
    integrationTimeoutMs: limits?.integrationTimeoutMs ?? 29_000,
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`Gateway limit ${name} must be a positive integer, got ${value}.`);
    }
  }
  return resolved;
}

export function resolveFaults(faults: Partial<GatewayFaults> | undefined): GatewayFaults {
  return {
    dropDisconnect: faults?.dropDisconnect ?? false,
    throttlePosts: faults?.throttlePosts ?? 0,
    throttleUntil: faults?.throttleUntil ?? 0,
  };
}

/** Consumes one throttled POST if a throttle fault is on. */
export function takeThrottle(faults: GatewayFaults, now: number): boolean {
  if (faults.throttleUntil > now) return true;
  if (faults.throttlePosts > 0) {
    faults.throttlePosts -= 1;
    return true;
  }
  return false;
}
