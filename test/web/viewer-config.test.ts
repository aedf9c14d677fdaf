import { describe, expect, it, vi } from "vitest";
import type { HostedViewerConfig } from "../../protocol/viewer-config.js";
import {
  fetchHostedConfig,
  fetchLocalConfig,
  type LocalServerConfig,
  resolveViewerSetup,
  type SetupSources,
  startDemo,
} from "../../web/viewer-config.js";

const LOCAL: LocalServerConfig = { mode: "local", webSocketUrl: "ws://127.0.0.1:3001/local", demo: true };
const DEPLOYED_URL = "wss://abc.execute-api.eu-west-1.amazonaws.com/prod";

function sources(overrides: Partial<SetupSources> = {}): SetupSources {
  return {
    search: "",
    hash: "",
    pageConfig: undefined,
    build: {},
    hostedConfig: async () => undefined,
    localConfig: async () => undefined,
    fetch: vi.fn<typeof fetch>(async () => new Response("{}", { status: 404 })),
    ...overrides,
  };
}

function jsonFetch(routes: Record<string, { status?: number; body: unknown }>) {
  return vi.fn<typeof fetch>(async (input) => {
    const url = new URL(String(input), "http://viewer.test/");
    const route = routes[url.pathname];
    if (route === undefined) return new Response("<html>", { status: 200 });
    return new Response(JSON.stringify(route.body), { status: route.status ?? 200 });
  });
}

describe("viewer setup: local mode", () => {
  it("uses the local server's WebSocket URL and asks it for a token per trace", async () => {
    const fetchImpl = jsonFetch({ "/api/token": { body: { token: "dev-token" } } });
    const result = await resolveViewerSetup(sources({ localConfig: async () => LOCAL, fetch: fetchImpl }));

    expect(result).toMatchObject({
      ok: true,
      setup: { mode: "local", url: LOCAL.webSocketUrl, canRunDemo: true },
    });
    if (!result.ok) return;
    await expect(result.setup.getToken("trace/1")).resolves.toBe("dev-token");
    expect(String(fetchImpl.mock.calls[0]?.[0])).toContain("/api/token?traceId=trace%2F1");
  });

  it("takes a token from the URL over the local server's (to show what a bad token does)", async () => {
    const result = await resolveViewerSetup(
      sources({ search: "?traceId=t&token=from-url", localConfig: async () => LOCAL }),
    );
    expect(result.ok && (await result.setup.getToken("t"))).toBe("from-url");
    expect(result.ok && result.setup.fixedToken).toBe(true);
  });

  it("reports the local token service's message when it refuses", async () => {
    const fetchImpl = jsonFetch({ "/api/token": { status: 400, body: { message: "traceId must be ..." } } });
    const result = await resolveViewerSetup(sources({ localConfig: async () => LOCAL, fetch: fetchImpl }));
    if (!result.ok) throw new Error(result.reason);
    await expect(result.setup.getToken("t")).rejects.toThrow(
      "no token for t: traceId must be ... (HTTP 400)",
    );
  });
});

describe("viewer setup: deployed mode", () => {
  it("reads url and token from the query string, without asking for a local server", async () => {
    const localConfig = vi.fn(async () => LOCAL);
    const result = await resolveViewerSetup(
      sources({ search: `?traceId=t&url=${encodeURIComponent(DEPLOYED_URL)}&token=jwt`, localConfig }),
    );
    expect(localConfig).not.toHaveBeenCalled();
    expect(result).toMatchObject({
      ok: true,
      setup: { mode: "deployed", url: DEPLOYED_URL, canRunDemo: false },
    });
    expect(result.ok && (await result.setup.getToken("t"))).toBe("jwt");
  });

  it("prefers a token in the fragment, which never reaches a server", async () => {
    const result = await resolveViewerSetup(
      sources({ search: `?url=${encodeURIComponent(DEPLOYED_URL)}&token=query`, hash: "#token=fragment" }),
    );
    expect(result.ok && (await result.setup.getToken("t"))).toBe("fragment");
  });

  it("calls window.traceStreamConfig.getToken with the trace id, and never asks a local server", async () => {
    const getToken = vi.fn(async (traceId: string) => `token-for-${traceId}`);
    const localConfig = vi.fn(async () => LOCAL);
    const result = await resolveViewerSetup(
      sources({ pageConfig: { url: DEPLOYED_URL, getToken }, localConfig }),
    );

    expect(result).toMatchObject({ ok: true, setup: { mode: "deployed", url: DEPLOYED_URL } });
    expect(result.ok && (await result.setup.getToken("run-7"))).toBe("token-for-run-7");
    expect(localConfig).not.toHaveBeenCalled();
  });

  it("fetches tokens from a build-time token URL with the user's cookies", async () => {
    const fetchImpl = jsonFetch({ "/trace-token": { body: { token: "issued" } } });
    const result = await resolveViewerSetup(
      sources({
        build: { url: DEPLOYED_URL, tokenUrl: "https://auth.example.com/trace-token" },
        fetch: fetchImpl,
      }),
    );
    expect(result.ok && (await result.setup.getToken("a b"))).toBe("issued");
    expect(fetchImpl).toHaveBeenCalledWith(
      "https://auth.example.com/trace-token?traceId=a+b",
      expect.objectContaining({ credentials: "include" }),
    );
  });

  it("explains how to configure the page when nothing says where to connect", async () => {
    const result = await resolveViewerSetup(sources());
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("No WebSocket URL is configured") });
    expect(!result.ok && result.reason).toContain("window.traceStreamConfig");
  });

  it("says a token is missing when only the URL is configured", async () => {
    const result = await resolveViewerSetup(sources({ pageConfig: { url: DEPLOYED_URL } }));
    expect(result).toEqual({ ok: false, reason: expect.stringContaining("No token is configured") });
  });

  it("refuses an http(s) URL and an invalid traceStreamConfig with a reason", async () => {
    expect(await resolveViewerSetup(sources({ search: "?url=https://example.com&token=t" }))).toEqual({
      ok: false,
      reason: expect.stringContaining("must start with wss://"),
    });
    expect(
      await resolveViewerSetup(sources({ pageConfig: { url: DEPLOYED_URL, getToken: "not a function" } })),
    ).toEqual({ ok: false, reason: expect.stringContaining("getToken must be a function") });
  });
});

describe("viewer setup: hosted by the stack (config.json)", () => {
  const TOKEN_ENDPOINT = "https://tok123.execute-api.eu-west-1.amazonaws.com/token";
  const hosted =
    (config: Partial<HostedViewerConfig> = {}) =>
    async (): Promise<HostedViewerConfig> => ({
      webSocketUrl: DEPLOYED_URL,
      authMode: "hs256",
      tokenEndpoint: { url: TOKEN_ENDPOINT, auth: "aws_iam" },
      ...config,
    });

  it("connects where config.json says, with the token from the link, and asks no local server", async () => {
    const localConfig = vi.fn(async () => LOCAL);
    const result = await resolveViewerSetup(
      sources({ search: "?traceId=t", hash: "#token=jwt", hostedConfig: hosted(), localConfig }),
    );
    expect(result).toMatchObject({ ok: true, setup: { mode: "deployed", url: DEPLOYED_URL } });
    expect(result.ok && (await result.setup.getToken("t"))).toBe("jwt");
    expect(localConfig).not.toHaveBeenCalled();
  });

  it("without a token, says how to get one from the IAM token endpoint, in the endpoint's region", async () => {
    const result = await resolveViewerSetup(sources({ hostedConfig: hosted() }));
    expect(result.ok).toBe(false);
    const reason = result.ok ? "" : result.reason;
    expect(reason).toContain("#token=JWT");
    expect(reason).toContain('curl --aws-sigv4 "aws:amz:eu-west-1:execute-api"');
    expect(reason).toContain(`"${TOKEN_ENDPOINT}?traceId=T"`);
  });

  it("says where tokens come from without a token endpoint, and in OIDC mode", async () => {
    const hs256 = await resolveViewerSetup(sources({ hostedConfig: hosted({ tokenEndpoint: undefined }) }));
    expect(!hs256.ok && hs256.reason).toContain("npx trace-stream token --trace T");
    const oidc = await resolveViewerSetup(sources({ hostedConfig: hosted({ authMode: "oidc" }) }));
    expect(!oidc.ok && oidc.reason).toContain("identity provider");
  });

  it("uses a token URL of the deployer's own from config.json, with cookies", async () => {
    const fetchImpl = jsonFetch({ "/trace-token": { body: { token: "from-own-service" } } });
    const result = await resolveViewerSetup(
      sources({
        hostedConfig: hosted({ tokenUrl: "https://app.example.com/trace-token" }),
        fetch: fetchImpl,
      }),
    );
    expect(result.ok && (await result.setup.getToken("t"))).toBe("from-own-service");
  });

  it("lets ?url or config.js override config.json without reading it", async () => {
    const hostedConfig = vi.fn(hosted());
    const other = "wss://other.example.com/prod";
    const result = await resolveViewerSetup(
      sources({ search: `?url=${encodeURIComponent(other)}&token=t`, hostedConfig }),
    );
    expect(result.ok && result.setup.url).toBe(other);
    expect(hostedConfig).not.toHaveBeenCalled();
  });

  it("reads config.json only when it is the stack's JSON (a dev server's index.html is not)", async () => {
    const config = { webSocketUrl: DEPLOYED_URL, authMode: "hs256" };
    expect(await fetchHostedConfig(jsonFetch({ "/config.json": { body: config } }))).toEqual(config);
    expect(await fetchHostedConfig(jsonFetch({}))).toBeUndefined();
    expect(await fetchHostedConfig(jsonFetch({ "/config.json": { body: { url: "x" } } }))).toBeUndefined();
    expect(
      await fetchHostedConfig(jsonFetch({ "/config.json": { status: 403, body: config } })),
    ).toBeUndefined();
  });
});

describe("local server discovery", () => {
  it("treats a static host's HTML answer or a 404 as no local server", async () => {
    expect(await fetchLocalConfig(jsonFetch({}))).toBeUndefined();
    expect(await fetchLocalConfig(jsonFetch({ "/api/config": { status: 404, body: {} } }))).toBeUndefined();
    expect(
      await fetchLocalConfig(vi.fn<typeof fetch>(async () => Promise.reject(new TypeError("offline")))),
    ).toBe(undefined);
    expect(await fetchLocalConfig(jsonFetch({ "/api/config": { body: LOCAL } }))).toEqual(LOCAL);
  });

  it("starts a demo and returns its trace id, or says why it could not", async () => {
    expect(await startDemo(jsonFetch({ "/api/demo": { status: 201, body: { traceId: "demo-1" } } }))).toBe(
      "demo-1",
    );
    await expect(
      startDemo(jsonFetch({ "/api/demo": { status: 404, body: { message: "demos are off" } } })),
    ).rejects.toThrow("the demo did not start: demos are off (HTTP 404)");
  });
});
