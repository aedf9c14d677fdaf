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

export interface PostRetryOptions {
  /** @default DEFAULT_POST_RETRY */
  readonly retry?: RetryPolicy;
  /** @default Math.random */
  readonly random?: () => number;
  /** Stops retrying once aborted (the execution environment was stopped). */
  readonly signal?: AbortSignal;
}

/** The HTTP status of a failed attempt: the SDK's `$metadata`, or a status error's own. */
function statusOf(error: unknown): number | undefined {
  const failure = error as { $metadata?: { httpStatusCode?: number }; statusCode?: number } | undefined;
  return failure?.$metadata?.httpStatusCode ?? failure?.statusCode;
}

function isThrottle(error: unknown): boolean {
  return error instanceof LimitExceededException || statusOf(error) === 429;
}

function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  // 5xx answers and network failures (no status at all) may succeed on a second try.
  return status === undefined || status >= 500;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one post attempt until it is delivered or Gone: throttles (429) and transient failures
 * (5xx, network) back off with full jitter; anything else (403, 413 Payload Too Large) and the
 * last failed attempt throw a ConnectionPostError.
 */
export async function postWithRetries(
  connectionId: string,
  attempt: () => Promise<PostResult>,
  options: PostRetryOptions = {},
): Promise<PostResult> {
  const retry = options.retry ?? DEFAULT_POST_RETRY;
  const random = options.random ?? Math.random;
  for (let attempted = 1; ; attempted++) {
    try {
      return await attempt();
    } catch (error) {
      options.signal?.throwIfAborted();
      const throttled = isThrottle(error);
      if (attempted >= retry.attempts || !(throttled || isTransient(error))) {
        throw new ConnectionPostError(connectionId, throttled, { cause: error });
      }
      await sleep(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempted - 1)));
    }
  }
}

/** Closes a connection through the SDK; one already gone is not an error. */
export async function deleteConnection(client: ApiGatewayManagementApiClient, connectionId: string) {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!(error instanceof GoneException)) throw error;
  }
}

/**
 * The gateway over the SDK's PostToConnectionCommand. The Lambdas post through
 * `signedConnectionGateway` (the same request, signed without the SDK's per-call middleware);
 * this one is the reference its request is checked against and the bench's baseline.
 */
export function managementApiGateway(
  client: ApiGatewayManagementApiClient,
  retry: RetryPolicy = DEFAULT_POST_RETRY,
  random: () => number = Math.random,
  signal?: AbortSignal,
): ConnectionGateway {
  const encoder = new TextEncoder();
  const sendOnce = async (connectionId: string, body: Uint8Array): Promise<PostResult> => {
    try {
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: body }));
      return "sent";
    } catch (error) {
      if (error instanceof GoneException) return "gone";
      throw error;
    }
  };
  return {
    post(connectionId, data) {
      const body = encoder.encode(data);
      return postWithRetries(connectionId, () => sendOnce(connectionId, body), {
        retry,
        random,
        ...(signal ? { signal } : {}),
      });
    },
    close: (connectionId) => deleteConnection(client, connectionId),
  };
}

/**
 * API Gateway answers 410 for a connection whose `$connect` has not returned yet (up to its 29 s
 * integration timeout), though its subscription is already written. Such a connection is not
 * stale: it will `resume` once open, and the event is stored, so it only misses the live copy.
 */
export const CONNECT_GRACE_MS = 30_000;
