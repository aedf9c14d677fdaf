import { z } from "zod";

/**
 * A Lambda proxy integration's response on a WebSocket route. API Gateway reads `statusCode` on
 * `$connect` (non-2xx refuses the upgrade), and `body` on two-way routes (sent to the caller).
 */
export const ProxyResult = z.object({
  statusCode: z.number().int().min(100).max(599),
  body: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  isBase64Encoded: z.boolean().optional(),
});
export type ProxyResult = z.infer<typeof ProxyResult>;

/** Header a `$connect` integration returns to pick one of the client's WebSocket subprotocols. */
export function selectedSubprotocol(result: ProxyResult): string | undefined {
  return Object.entries(result.headers ?? {}).find(
    ([name]) => name.toLowerCase() === "sec-websocket-protocol",
  )?.[1];
}

/**
 * The message a two-way route sends back, if any: a proxy result's body (decoded when it says it
 * is base64). Undefined for results without a body.
 */
export function routeResponse(result: unknown): { data: Buffer | string } | undefined | "malformed" {
  if (result === undefined || result === null) return undefined;
  const parsed = ProxyResult.partial({ statusCode: true }).safeParse(result);
  if (!parsed.success) return "malformed";
  const { body, isBase64Encoded } = parsed.data;
  if (body === undefined) return undefined;
  return { data: isBase64Encoded ? Buffer.from(body, "base64") : body };
}
