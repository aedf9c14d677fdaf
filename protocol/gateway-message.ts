/**
 * Messages API Gateway itself sends on a WebSocket, not the API's frames: when it throttles a
 * message (`{"message": "Too Many Requests", "connectionId":"...", "requestId":"..."}`), when an
 * integration fails or times out, or when no route takes a message ("Forbidden").
 */
export interface GatewayMessage {
  readonly message: string;
  readonly connectionId?: string;
  readonly requestId?: string;
}

/** The message API Gateway sends for a message over a stage or route throttle. */
export const GATEWAY_THROTTLED = "Too Many Requests";

/** A gateway message, or undefined when the text is not one (any API frame has a `type`). */
export function parseGatewayMessage(text: string): GatewayMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value) || "type" in value)
    return undefined;
  const { message, connectionId, requestId } = value as Record<string, unknown>;
  if (typeof message !== "string") return undefined;
  return {
    message,
    ...(typeof connectionId === "string" ? { connectionId } : {}),
    ...(typeof requestId === "string" ? { requestId } : {}),
  };
}
