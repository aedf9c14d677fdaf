import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import { LocalStackError, PortInUseError } from "../../local/index.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { HostedViewerConfig } from "../../protocol/viewer-config.js";
import { TOKEN_TTL_SECONDS } from "../../web/viewer-api.js";
import { startViewerServer, type ViewerServer } from "../../web/viewer-server.js";
import { openSubscriber, startTestStack, type TestStack, UpgradeRefused } from "../helpers/local-stack.js";

let stack: TestStack;
let viewer: ViewerServer;
let dist: string;

beforeAll(async () => {
  stack = await startTestStack();
  dist = await mkdtemp(join(tmpdir(), "viewer-dist-"));
  await mkdir(join(dist, "assets"));
  await writeFile(join(dist, "index.html"), "<!doctype html><title>viewer</title><div id=root></div>");
  await writeFile(join(dist, "assets", "index-abc123.js"), "console.log('app')");
  await writeFile(join(dist, "config.js"), "// runtime config");
  viewer = await startViewerServer({ port: 0, stack, assets: "build", distDir: dist, demoSpeed: 40 });
});

afterAll(async () => {
  await viewer?.close();
  await stack?.stop();
  await rm(dist, { recursive: true, force: true });
});

async function getJson(path: string, init?: RequestInit) {
  const response = await fetch(new URL(path, viewer.url), init);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** A raw request, for headers fetch will not let a test set (Host). */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, viewer.url), { headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

async function storedEvents(traceId: string): Promise<TraceEvent[]> {
  const events: TraceEvent[] = [];
  for await (const page of dynamoTraceStore(stack.clients.dynamo, stack.tableName).eventsAfter(traceId, -1)) {
    events.push(...page);
  }
  return events;
}

describe("viewer API with a local stack", () => {
  it("tells the page to run in local mode against the stack's WebSocket URL, with demos", async () => {
    const { status, body, headers } = await getJson("/api/config");
    expect(status).toBe(200);
    expect(body).toEqual({ mode: "local", webSocketUrl: stack.endpoints.webSocketUrl, demo: true });
    expect(headers.get("cache-control")).toBe("no-store");
  });

  it("answers the page's look for a hosted config.json with the local config, not a 404", async () => {
    const { status, body } = await getJson("/config.json");
    expect(status).toBe(200);
    expect(body).toEqual({ mode: "local", webSocketUrl: stack.endpoints.webSocketUrl, demo: true });
    expect(HostedViewerConfig.safeParse(body).success).toBe(false);
  });

  it("mints a token that opens the trace it names and no other", async () => {
    const { status, body } = await getJson("/api/token?traceId=viewer-token-1");
    expect(status).toBe(200);
    expect(body).toMatchObject({ token: expect.any(String), expiresInSeconds: TOKEN_TTL_SECONDS });
    const token = String(body.token);

    const subscriber = await openSubscriber(stack.connectUrl("viewer-token-1", token));
    await subscriber.close();
    await expect(openSubscriber(stack.connectUrl("viewer-token-2", token))).rejects.toEqual(
      new UpgradeRefused(403),
    );
  });

  it("answers a missing or malformed traceId with 400 and the rule", async () => {
    expect(await getJson("/api/token")).toMatchObject({
      status: 400,
      body: { message: "traceId is required: GET /api/token?traceId=T" },
    });
    expect(await getJson("/api/token?traceId=has%20space")).toMatchObject({
      status: 400,
      body: { message: "traceId must be 1-128 characters of A-Za-z0-9._:/-, or *" },
    });
  });

  it("answers a wrong method with 405 and Allow, and an unknown endpoint with 404", async () => {
    const wrongMethod = await getJson("/api/token?traceId=t", { method: "POST" });
    expect(wrongMethod).toMatchObject({ status: 405, body: { message: "use GET" } });
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
    expect((await getJson("/api/demo")).status).toBe(405);
    expect(await getJson("/api/nothing")).toMatchObject({
      status: 404,
      body: { message: "no such endpoint: /api/nothing" },
    });
  });

  it("refuses requests addressed to another host name (DNS rebinding) with 403", async () => {
    const answer = await rawGet("/api/token?traceId=t", { host: "attacker.example:3000" });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      message: "the viewer API answers only requests addressed to 127.0.0.1 or localhost",
    });
  });

  it("refuses a cross-site POST to start a demo with 403", async () => {
    const answer = await getJson("/api/demo", {
      method: "POST",
      headers: { origin: "https://attacker.example" },
    });
    expect(answer).toMatchObject({
      status: 403,
      body: { message: "cross-site requests may not start a demo" },
    });
  });

  it("starts a demo run that publishes a whole run through the stack", async () => {
    const { status, body } = await getJson("/api/demo", { method: "POST" });
    expect(status).toBe(201);
    const traceId = String(body.traceId);
    expect(traceId).toMatch(/^demo-[0-9a-f-]{36}$/);

    // Events are delivered concurrently, so the last one may be stored before those before it.
    const events = await vi.waitFor(
      async () => {
        const stored = await storedEvents(traceId);
        expect(stored.at(-1)?.event).toBe("plan_completed");
        expect(stored.map((event) => event.seq)).toEqual(stored.map((_, index) => index));
        return stored;
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(events.filter((event) => event.event === "tool_call_error")).toHaveLength(1);
  });
});

describe("viewer pages from the build", () => {
  it("serves index.html for the app's routes and fresh config.js, hashed assets for a year", async () => {
    for (const path of ["/", "/?traceId=abc", "/some/page"]) {
      const response = await fetch(new URL(path, viewer.url));
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await response.text()).toContain("<div id=root>");
    }
    const asset = await fetch(new URL("/assets/index-abc123.js", viewer.url));
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const config = await fetch(new URL("/config.js", viewer.url));
    expect(config.headers.get("cache-control")).toBe("no-cache");
  });

  it("answers a missing asset and a path outside the build with 404", async () => {
    expect((await fetch(new URL("/assets/missing.js", viewer.url))).status).toBe(404);
    expect((await rawGet("/../../package.json", { host: "127.0.0.1" })).status).toBe(404);
    expect((await rawGet("/%2e%2e/%2e%2e/package.json", { host: "127.0.0.1" })).status).toBe(404);
  });
});

describe("starting the viewer server", () => {
  it("without a stack serves the page and tells the API's callers to configure it", async () => {
    const bare = await startViewerServer({ port: 0, assets: "build", distDir: dist });
    try {
      const response = await fetch(new URL("/api/config", bare.url));
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        message: "this viewer server runs without a local stack; configure the page instead",
      });
      expect((await fetch(bare.url)).status).toBe(200);
    } finally {
      await bare.close();
    }
  });

  it("says to build first when the build is missing", async () => {
    await expect(
      startViewerServer({ port: 0, assets: "build", distDir: join(dist, "nowhere") }),
    ).rejects.toThrow(/no viewer build in .*nowhere: run `npm run build:web` first/);
  });

  it("refuses to serve dev tokens beyond loopback", async () => {
    await expect(startViewerServer({ host: "0.0.0.0", port: 0, stack })).rejects.toBeInstanceOf(
      LocalStackError,
    );
  });

  it("reports a busy port with a PortInUseError", async () => {
    await expect(
      startViewerServer({ port: viewer.port, assets: "build", distDir: dist }),
    ).rejects.toBeInstanceOf(PortInUseError);
  });

  it("interrupts a demo still running when it closes, ending the trace with plan_failed", async () => {
    const slow = await startViewerServer({ port: 0, stack, assets: "build", distDir: dist, demoSpeed: 1 });
    const response = await fetch(new URL("/api/demo", slow.url), { method: "POST" });
    const { traceId } = (await response.json()) as { traceId: string };
    await slow.close();
    await stack.deliveriesIdle();

    const last = (await storedEvents(traceId)).at(-1);
    expect(last).toMatchObject({ event: "plan_failed", metadata: { error_type: "Interrupted" } });
  });

  it("serves the page from source through Vite", async () => {
    const source = await startViewerServer({ port: 0, stack, assets: "source", watch: false });
    try {
      const html = await (await fetch(source.url)).text();
      expect(html).toContain('<div id="root"></div>');
      expect(html).toContain("/@vite/client");
      const entry = await fetch(new URL("/main.tsx", source.url));
      expect(entry.status).toBe(200);
      expect(entry.headers.get("content-type")).toContain("javascript");
    } finally {
      await source.close();
    }
  });
});
