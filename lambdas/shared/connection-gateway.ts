import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

/** Outcome of a post: delivered, or the connection no longer exists (410 Gone). */
export type PostResult = "sent" | "gone";

/** A post that failed for a reason other than Gone, after the throttling retries ran out. */
export class ConnectionPostError extends Error {
  override readonly name = "ConnectionPostError";
  readonly connectionId: string;
  readonly throttled: boolean;
  constructor(connectionId: string, throttled: boolean, options: { cause: unknown }) {
    super(`post to connection ${connectionId} failed${throttled ? " (throttled)" : ""}`, options);
    this.connectionId = connectionId;
    this.throttled = throttled;
  }
}

/** The @connections management API, as a port the pure cores depend on. */
export interface ConnectionGateway {
  post(connectionId: string, data: string): Promise<PostResult>;
  close(connectionId: string): Promise<void>;
}

export interface RetryPolicy {
  /** Attempts per post, the first included. @default 6 */
  readonly attempts: number;
  /** Full-jitter backoff: a random wait in [0, min(maxDelayMs, baseDelayMs * 2^retry)). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_POST_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

function isThrottle(error: unknown): boolean {
  return (
    error instanceof LimitExceededException ||
    (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 429
  );
}

function isTransient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  // 5xx answers and network failures (no status at all) may succeed on a second try.
  return status === undefined || status >= 500;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function managementApiGateway(
  client: ApiGatewayManagementApiClient,
  retry: RetryPolicy = DEFAULT_POST_RETRY,
  random: () => number = Math.random,
): ConnectionGateway {
  const encoder = new TextEncoder();
  return {
    async post(connectionId, data) {
      const body = encoder.encode(data);
      for (let attempt = 1; ; attempt++) {
        try {
          await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: body }));
          return "sent";
        } catch (error) {
          if (error instanceof GoneException) return "gone";
          const throttled = isThrottle(error);
          if (attempt >= retry.attempts || !(throttled || isTransient(error))) {
            throw new ConnectionPostError(connectionId, throttled, { cause: error });
          }
          await sleep(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
        }
      }
    },
    async close(connectionId) {
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!(error instanceof GoneException)) throw error;
      }
    },
  };
}
