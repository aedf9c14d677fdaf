/**
 * The fields of API Gateway's WebSocket Lambda proxy events that the handlers read. (The
 * `aws-lambda` types omit `queryStringParameters` on `$connect`, which API Gateway does send.)
 */
export interface WebSocketEvent {
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey: string;
    readonly requestId?: string;
    readonly authorizer?: Readonly<Record<string, unknown>> | null;
  };
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

/** What a WebSocket route integration returns; `body` is sent back only on two-way routes. */
export interface RouteResult {
  statusCode: number;
  body?: string;
}

/** The message text, decoding binary frames that API Gateway delivers base64-encoded. */
export function messageBody(event: WebSocketEvent): string {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
}
