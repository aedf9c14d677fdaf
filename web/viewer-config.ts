/**
 * Where the viewer connects and how it gets a token. Resolved once per page load from, in order:
 *
 * 1. the page URL: `?url=wss://...` and `?token=JWT` (or `#token=JWT`, which never reaches a
 *    server log);
 * 2. `window.traceStreamConfig` (set by `config.js` next to `index.html`, replaceable after the
 *    build): `{ url, getToken(traceId) }` or `{ url, tokenUrl }`;
 * 3. `config.json` next to `index.html`, which the stack's hosted viewer writes from its outputs
 *    (`{ webSocketUrl, authMode, tokenUrl?, tokenEndpoint? }`, protocol/viewer-config.ts);
 * 4. build-time variables `VITE_TRACE_STREAM_URL` and `VITE_TRACE_STREAM_TOKEN_URL`;
 * 5. the local viewer server (`npm start`), when none of the above names a URL: `GET /api/config`,
 *    tokens from `GET /api/token` (unless the page URL carries one).
 *
 * A token URL is called as `GET {tokenUrl}?traceId=T` (with cookies) and must answer `{"token": "..."}`.
 */
import { z } from "zod";
import { TRACE_ID_PATTERN } from "../protocol/trace-event.js";
import { HOSTED_CONFIG_FILE, HostedViewerConfig } from "../protocol/viewer-config.js";

export type TokenProvider = (traceId: string) => string | Promise<string>;

/** The shape of `window.traceStreamConfig`. */
export const PageConfig = z.object({
  /** The WebSocket stage URL, `wss://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  url: z.string().optional(),
  /** Returns a JWT valid for the trace; called before every connect, so it may refresh. */
  getToken: z
    .custom<TokenProvider>((value) => typeof value === "function", "getToken must be a function")
    .optional(),
  /** Alternative to getToken: `GET {tokenUrl}?traceId=T` answering `{"token": "..."}`. */
  tokenUrl: z.string().optional(),
});
export type PageConfig = z.infer<typeof PageConfig>;

/** What `GET /api/config` of the local viewer server answers. */
export const LocalServerConfig = z.object({
  mode: z.literal("local"),
  webSocketUrl: z.string(),
  demo: z.boolean().default(false),
});
export type LocalServerConfig = z.infer<typeof LocalServerConfig>;

export const TokenResponse = z.object({ token: z.string().min(1) });
export const DemoResponse = z.object({ traceId: z.string().regex(TRACE_ID_PATTERN) });

export interface ViewerSetup {
  readonly mode: "local" | "deployed";
  readonly url: string;
  readonly getToken: TokenProvider;
  /** A token given in the page URL (it replaces the provider). */
  readonly fixedToken: boolean;
  /** The local server can start a simulated run. */
  readonly canRunDemo: boolean;
}

export type SetupResult =
  | { readonly ok: true; readonly setup: ViewerSetup }
  | { readonly ok: false; readonly reason: string };

export interface SetupSources {
  /** `location.search` */
  readonly search: string;
  /** `location.hash` */
  readonly hash: string;
  /** `window.traceStreamConfig` as found (unvalidated). */
  readonly pageConfig: unknown;
  readonly build: { readonly url?: string | undefined; readonly tokenUrl?: string | undefined };
  /** Resolves with `config.json` next to the page, or undefined when there is none. */
  readonly hostedConfig: () => Promise<HostedViewerConfig | undefined>;
  /** Resolves with the local server's config, or undefined when there is no local server. */
  readonly localConfig: () => Promise<LocalServerConfig | undefined>;
  readonly fetch: typeof fetch;
}

export const CONFIG_HELP =
  "Open the viewer with ?url=wss://…&token=…, or set window.traceStreamConfig = { url, getToken } in config.js, " +
  "or build with VITE_TRACE_STREAM_URL and VITE_TRACE_STREAM_TOKEN_URL.";

export async function resolveViewerSetup(sources: SetupSources): Promise<SetupResult> {
  const query = new URLSearchParams(sources.search);
  const fragment = new URLSearchParams(sources.hash.replace(/^#/, ""));
  let page: PageConfig = {};
  if (sources.pageConfig !== undefined && sources.pageConfig !== null) {
    const parsed = PageConfig.safeParse(sources.pageConfig);
    if (!parsed.success) {
      return { ok: false, reason: `window.traceStreamConfig is invalid: ${z.prettifyError(parsed.error)}` };
    }
    page = parsed.data;
  }

  const urlToken = nonEmpty(fragment.get("token")) ?? nonEmpty(query.get("token"));
  const pageUrl = nonEmpty(query.get("url")) ?? nonEmpty(page.url);
  // config.json is read only when neither the page URL nor config.js says where to connect.
  const hosted = pageUrl === undefined ? await sources.hostedConfig() : undefined;
  const configuredUrl = pageUrl ?? nonEmpty(hosted?.webSocketUrl) ?? nonEmpty(sources.build.url);
  const configuredProvider: TokenProvider | undefined =
    page.getToken ??
    tokenUrlProvider(
      nonEmpty(page.tokenUrl) ?? nonEmpty(hosted?.tokenUrl) ?? nonEmpty(sources.build.tokenUrl),
      sources.fetch,
      "include",
    );

  // The local server is asked only when nothing names where to connect.
  const local = configuredUrl === undefined ? await sources.localConfig() : undefined;

  const url = configuredUrl ?? local?.webSocketUrl;
  if (url === undefined) return { ok: false, reason: `No WebSocket URL is configured. ${CONFIG_HELP}` };
  const urlProblem = checkWebSocketUrl(url);
  if (urlProblem !== undefined) return { ok: false, reason: urlProblem };

  const provider =
    configuredProvider ??
    (local === undefined ? undefined : tokenUrlProvider("/api/token", sources.fetch, "same-origin"));
  if (urlToken === undefined && provider === undefined) {
    return {
      ok: false,
      reason: hosted === undefined ? `No token is configured. ${CONFIG_HELP}` : hostedTokenHelp(hosted),
    };
  }
  return {
    ok: true,
    setup: {
      mode: local === undefined ? "deployed" : "local",
      url,
      getToken: urlToken === undefined ? (provider as TokenProvider) : () => urlToken,
      fixedToken: urlToken !== undefined,
      canRunDemo: local?.demo ?? false,
    },
  };
}

/**
 * What a hosted viewer without a token tells its user: the page cannot sign requests to the
 * IAM-authorized token endpoint, so the token comes in the link (`#token=`, never sent to a server).
 */
export function hostedTokenHelp(config: HostedViewerConfig): string {
  const link = "Open this page with a token in its link: ?traceId=T#token=JWT.";
  if (config.authMode === "oidc")
    return `${link} Use a token of your identity provider whose traces claim grants T.`;
  if (config.tokenEndpoint === undefined) {
    return `${link} Mint one with \`npx trace-stream token --trace T\` (TRACE_STREAM_JWT_SECRET_ARN set to the stack's JwtSecretArn).`;
  }
  const region = /\.execute-api\.([a-z0-9-]+)\./.exec(config.tokenEndpoint.url)?.[1] ?? "REGION";
  return (
    `${link} Get one from the stack's token endpoint, signed with your AWS credentials ` +
    `(temporary ones also need -H "x-amz-security-token: $AWS_SESSION_TOKEN"): ` +
    `curl --aws-sigv4 "aws:amz:${region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" ` +
    `"${config.tokenEndpoint.url}?traceId=T"`
  );
}

/** Reads `config.json` next to the page; undefined when there is none (or it is not ours). */
export async function fetchHostedConfig(fetchImpl: typeof fetch): Promise<HostedViewerConfig | undefined> {
  let response: Response;
  try {
    response = await fetchImpl(`./${HOSTED_CONFIG_FILE}`, {
      headers: { accept: "application/json" },
      cache: "no-store",
    });
  } catch {
    return undefined;
  }
  if (!response.ok) return undefined;
  // Dev servers answer unknown paths with index.html: anything but our JSON means "not hosted".
  const body = await response.json().catch(() => undefined);
  const parsed = HostedViewerConfig.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** Asks the local viewer server for its config; undefined when the page is not served by one. */
export async function fetchLocalConfig(fetchImpl: typeof fetch): Promise<LocalServerConfig | undefined> {
  let response: Response;
  try {
    response = await fetchImpl("/api/config", { headers: { accept: "application/json" } });
  } catch {
    return undefined;
  }
  if (!response.ok) return undefined;
  // Static hosts often answer unknown paths with index.html: anything but our JSON means "not local".
  const body = await response.json().catch(() => undefined);
  const parsed = LocalServerConfig.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** Starts a simulated run on the local server; resolves with its trace id. */
export async function startDemo(fetchImpl: typeof fetch): Promise<string> {
  const response = await fetchImpl("/api/demo", { method: "POST", headers: { accept: "application/json" } });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(`the demo did not start: ${errorMessage(body, response.status)}`);
  const parsed = DemoResponse.safeParse(body);
  if (!parsed.success) throw new Error("the demo did not start: the server's answer had no traceId");
  return parsed.data.traceId;
}

export function checkWebSocketUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `The WebSocket URL ${JSON.stringify(url)} is not a URL.`;
  }
  if (parsed.protocol !== "wss:" && parsed.protocol !== "ws:") {
    return `The WebSocket URL must start with wss:// (or ws:// locally), got ${JSON.stringify(url)}.`;
  }
  return undefined;
}

function tokenUrlProvider(
  tokenUrl: string | undefined,
  fetchImpl: typeof fetch,
  credentials: RequestCredentials,
): TokenProvider | undefined {
  if (tokenUrl === undefined) return undefined;
  return async (traceId) => {
    const target = new URL(tokenUrl, globalThis.location?.href ?? "http://localhost/");
    target.searchParams.set("traceId", traceId);
    const response = await fetchImpl(target.href, { credentials, headers: { accept: "application/json" } });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw new Error(`no token for ${traceId}: ${errorMessage(body, response.status)}`);
    const parsed = TokenResponse.safeParse(body);
    if (!parsed.success)
      throw new Error(`no token for ${traceId}: the token service answered without "token"`);
    return parsed.data.token;
  };
}

function errorMessage(body: unknown, status: number): string {
  if (typeof body === "object" && body !== null && "message" in body && typeof body.message === "string") {
    return `${body.message} (HTTP ${status})`;
  }
  return `HTTP ${status}`;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value.trim() === "" ? undefined : value.trim();
}
