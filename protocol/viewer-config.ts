/**
 * `config.json`, the runtime configuration a deployed stack writes next to the built viewer
 * (lib/hosted-viewer.ts) and the viewer reads when it loads (web/viewer-config.ts).
 */
import { z } from "zod";

export const HOSTED_CONFIG_FILE = "config.json";

export const HostedViewerConfig = z.object({
  /** The WebSocket stage URL (`wss://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  webSocketUrl: z.string(),
  /** How the stack's authorizer verifies tokens: HS256 (shared secret) or an OIDC issuer's keys. */
  authMode: z.enum(["hs256", "oidc"]),
  /** A token service of the deployer's own: `GET {tokenUrl}?traceId=T` with cookies, answering `{"token"}`. */
  tokenUrl: z.string().optional(),
  /** The stack's token endpoint (IAM-signed, so for servers, the CLI and curl rather than the page). */
  tokenEndpoint: z.object({ url: z.string(), auth: z.literal("aws_iam") }).optional(),
});
export type HostedViewerConfig = z.infer<typeof HostedViewerConfig>;
