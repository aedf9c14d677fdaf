import type { ReceivedTraceEvent } from "../protocol/event-names.js";

/** Why the connection went away; the client reconnects after each of these. */
export type DisconnectCode =
  /** The server closed with 1001: API Gateway's 2-hour cap or 10-minute idle timeout. Routine. */
  | "going_away"
  /** The socket dropped without a close frame (1006), or the handshake failed without an HTTP status. */
  | "connection_lost"
  /** The server closed with another code (the reason says which), e.g. after a management DELETE. */
  | "server_closed"
  /** No pong (or any other frame) arrived within `pongTimeoutMs` of a ping. */
  | "pong_timeout"
  /** The server sent an error frame `not_subscribed` or `internal_error`. */
  | "server_error"
  /** The handshake was answered with an HTTP status other than 101, 400, 401 or 403 (e.g. 429, 500). */
  | "handshake_failed"
  /** `getToken()` threw or rejected. */
  | "token_unavailable";

/** Why the client gave up; only `reconnect()` (or `connect()`) starts it again. */
export type FailureCode =
  /** The handshake was answered 401: the token is missing, malformed, expired or badly signed. */
  | "unauthorized"
  /** The handshake was answered 403: the token does not grant this trace. */
  | "forbidden"
  /** The trace id is malformed (checked before connecting; the server would answer 400). */
  | "bad_request"
  /**
   * Browsers only (where the HTTP status of a refused handshake is hidden): this many handshakes in a
   * row failed while the browser was online, which almost always means the token was refused.
   */
  | "handshake_refused"
  /** `reconnect.maxAttempts` reconnects in a row failed. */
  | "attempts_exhausted";

/** Every kind of problem the client reports through `error` listeners and `snapshot.error`. */
export type TraceStreamErrorCode =
  | FailureCode
  | "token_unavailable"
  /** A frame that is not valid JSON, not a known frame type, or binary. The frame is ignored. */
  | "bad_frame"
  /** A frame or event for another trace. It is ignored. */
  | "wrong_trace"
  /** The server answered with an error frame; `serverCode` holds its code. */
  | "server_error"
  /** A listener threw; the client carried on. */
  | "listener_failed";

export class TraceStreamError extends Error {
  override readonly name = "TraceStreamError";
  readonly code: TraceStreamErrorCode;
  /** The HTTP status of a refused handshake, when the WebSocket implementation exposes it. */
  readonly httpStatus: number | undefined;
  /** The `code` of a server error frame. */
  readonly serverCode: string | undefined;

  constructor(
    code: TraceStreamErrorCode,
    message: string,
    options: { cause?: unknown; httpStatus?: number; serverCode?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.serverCode = options.serverCode;
  }
}

/**
 * The connection state. `status` is the discriminant; states after a problem carry a `code` (stable,
 * for programs) and a `reason` (for people).
 *
 * idle -> connecting -> backfilling -> live -> (reconnecting -> connecting -> ...) and finally one of
 * ended (a terminal event was shown), closed (`close()`/`disconnect()`), failed.
 */
export type TraceStreamState =
  | { readonly status: "idle" }
  /** Opening a socket; `attempt` counts reconnects since the stream was last live (0 = first). */
  | { readonly status: "connecting"; readonly attempt: number }
  /** Open; `resume` sent, history arriving, waiting for `synced`. */
  | { readonly status: "backfilling" }
  /** Caught up; events arrive as they are published. */
  | { readonly status: "live" }
  /** Waiting `delayMs` before attempt number `attempt`. */
  | {
      readonly status: "reconnecting";
      readonly attempt: number;
      readonly delayMs: number;
      readonly code: DisconnectCode;
      readonly reason: string;
    }
  /** A terminal event (`plan_completed`, `plan_failed`) was shown; the socket is closed for good. */
  | {
      readonly status: "ended";
      readonly code: "terminal_event";
      readonly reason: string;
      readonly event: ReceivedTraceEvent;
    }
  /** Closed by the user; stays closed until `connect()`. */
  | { readonly status: "closed"; readonly code: "client_closed"; readonly reason: string }
  /** Gave up; stays failed until `connect()` or `reconnect()`. */
  | {
      readonly status: "failed";
      readonly code: FailureCode;
      readonly reason: string;
      readonly httpStatus?: number;
    };

export type TraceStreamStatus = TraceStreamState["status"];
