/**
 * The trace viewer in headless Chromium against a real local stack: the page as people use it.
 * Chromium comes from CHROMIUM_PATH (default /usr/bin/chromium). Without it the suite is skipped
 * with a warning, unless REQUIRE_BROWSER=1 (CI), where its absence fails.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { BatchWriteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrace } from "../../client/producer.js";
import { createHandler as createConnectHandler } from "../../lambdas/connect/handler.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import type { WebSocketEvent } from "../../lambdas/shared/websocket-event.js";
import { keys } from "../../lib/table-design.js";
import { viewerContentSecurityPolicy } from "../../lib/viewer-csp.js";
import { closeServer, httpUrl, listen } from "../../local/http-server.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { HOSTED_CONFIG_FILE, type HostedViewerConfig } from "../../protocol/viewer-config.js";
import { createStaticHandler } from "../../web/static-files.js";
import { startViewerServer, type ViewerServer } from "../../web/viewer-server.js";
import { putTraceEvents, startTestStack, type TestStack } from "../helpers/local-stack.js";
import { longRun, traceBuilder } from "./trace-fixtures.js";

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumAvailable = existsSync(CHROMIUM_PATH);
const browserRequired = process.env.REQUIRE_BROWSER === "1";
const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");

if (!chromiumAvailable && !browserRequired) {
  console.warn(
    `Skipping the viewer's browser tests: no Chromium at ${CHROMIUM_PATH}. ` +
      "Install it (apt-get install chromium) or set CHROMIUM_PATH; REQUIRE_BROWSER=1 makes this a failure.",
  );
}

it.runIf(browserRequired)("has Chromium to run the viewer's browser tests (REQUIRE_BROWSER=1)", () => {
  expect(
    chromiumAvailable,
    `REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM_PATH}: install it or set CHROMIUM_PATH`,
  ).toBe(true);
});

describe.skipIf(!chromiumAvailable)("the trace viewer in Chromium", () => {
  let stack: TestStack;
  let viewer: ViewerServer;
  let browser: Browser;
  /** Resolves when new connections may complete their $connect; tests hold it to keep a page away. */
  let connectGate: Promise<void> = Promise.resolve();
  let traceCounter = 0;
  const newTraceId = (name: string) => `browser-${name}-${process.pid}-${++traceCounter}`;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    stack = await startTestStack({
      handlers: {
        connect: (env) => {
          const connect = createConnectHandler(env);
          return async (event: unknown) => {
            await connectGate;
            return connect(event as WebSocketEvent);
          };
        },
      },
    });
    viewer = await startViewerServer({ port: 0, stack, demoSpeed: 8, watch: false });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    await stack?.stop();
  });

  /** A page on the viewer that records uncaught errors and console errors (a React key warning included). */
  async function openViewer(path: string, base = viewer.url): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      // A refused handshake is logged by Chromium itself; the page reports it in its own words.
      if (message.type() === "error" && !message.text().includes("WebSocket connection to")) {
        problems.push(`console: ${message.text()}`);
      }
    });
    await page.goto(new URL(path, base).href);
    return { page, problems };
  }

  const connection = (page: Page, kind: string, timeout = 20_000) =>
    page.waitForSelector(`[data-connection="${kind}"]`, { timeout });

  /** Tool calls as the timeline shows them: [tool, state] in order. */
  const timeline = (page: Page) =>
    page.$$eval('[data-testid="tool-call"]', (rows) =>
      rows.map((row) => [row.getAttribute("data-tool"), row.getAttribute("data-state")]),
    );

  /**
   * Every seq the event list shows, top to bottom, scrolling through its window; throws if one seq
   * is rendered twice at any scroll position.
   */
  const listedSeqs = (page: Page) =>
    page.evaluate(async () => {
      const scroller = document.querySelector('[data-testid="events"] .virtual-list');
      if (!(scroller instanceof HTMLElement)) return [];
      const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      const order: number[] = [];
      const seen = new Set<number>();
      scroller.scrollTop = 0;
      await frames();
      for (;;) {
        const rows = [...scroller.querySelectorAll("li[data-seq]")].map((row) =>
          Number(row.getAttribute("data-seq")),
        );
        if (new Set(rows).size !== rows.length) throw new Error(`a seq is rendered twice: ${rows.join(",")}`);
        for (const seq of rows) {
          if (!seen.has(seq)) {
            seen.add(seq);
            order.push(seq);
          }
        }
        if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1) break;
        scroller.scrollTop += scroller.clientHeight;
        await frames();
      }
      return order;
    });

  const text = async (page: Page, testId: string) =>
    (await page.getByTestId(testId).first().textContent())?.trim() ?? "";

  const range = (count: number) => Array.from({ length: count }, (_, index) => index);

  function producer(traceId: string) {
    return createTrace({
      traceId,
      endpoint: stack.endpoints.eventBridge,
      busName: stack.busName,
      source: stack.source,
    });
  }

  async function storedEvents(traceId: string): Promise<TraceEvent[]> {
    const events: TraceEvent[] = [];
    for await (const page of dynamoTraceStore(stack.clients.dynamo, stack.tableName).eventsAfter(
      traceId,
      -1,
    )) {
      events.push(...page);
    }
    return events;
  }

  /** [tool, state] of each call, in start order, from the stored events. */
  function expectedCalls(events: readonly TraceEvent[]): string[][] {
    const calls = new Map<string, string[]>();
    for (const event of events) {
      if (event.event === "tool_call_start") {
        calls.set(String(event.metadata.call_id), [String(event.metadata.tool), "pending"]);
      } else if (event.event === "tool_call_complete" || event.event === "tool_call_error") {
        const call = calls.get(String(event.metadata.call_id));
        if (call) call[1] = event.event === "tool_call_error" ? "error" : "success";
      }
    }
    return [...calls.values()];
  }

  async function subscriptionsOf(traceId: string): Promise<string[]> {
    const result = await stack.clients.dynamo.send(
      new QueryCommand({
        TableName: stack.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :connections)",
        ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":connections": keys.connectionPrefix },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((item) => String(item.sk).slice(keys.connectionPrefix.length));
  }

  it("runs a demo from the start page and shows its tool calls in order with their states", async () => {
    const { page, problems } = await openViewer("/");
    await page.getByRole("button", { name: "Run demo" }).click();
    await page.waitForURL(/[?&]traceId=demo-/);
    const traceId = new URL(page.url()).searchParams.get("traceId") ?? "";
    await expect.poll(() => text(page, "trace-id")).toBe(traceId);

    await connection(page, "ended", 30_000);
    const events = await storedEvents(traceId);
    expect(events.at(-1)?.event).toBe("plan_completed");
    expect(await timeline(page)).toEqual(expectedCalls(events));
    expect(await timeline(page)).toContainEqual(["fetch_payment_status", "error"]);
    expect(await listedSeqs(page)).toEqual(range(events.length));
    expect(await text(page, "event-count")).toBe(`${events.length} events`);
    expect(await page.getByTestId("plan-outcome").getAttribute("data-outcome")).toBe("completed");
    expect(await page.getByTestId("approval").getAttribute("data-state")).toBe("approved");
    expect(await page.getByTestId("budget").first().getAttribute("data-state")).toBe("warning");
    expect(await page.getByRole("status").first().textContent()).toContain("Ended");

    // Any event opens to its full JSON, by keyboard too.
    const first = page.locator("#event-0-toggle");
    await first.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => first.getAttribute("aria-expanded")).toBe("true");
    await page.keyboard.press("Space");
    await expect.poll(() => first.getAttribute("aria-expanded")).toBe("false");

    // The failed call stands out; "Show event" scrolls to it, opens it and moves focus there.
    const failure = events.find((event) => event.event === "tool_call_error");
    await page.getByRole("button", { name: `Show event #${failure?.seq}` }).click();
    const toggle = page.locator(`#event-${failure?.seq}-toggle`);
    await expect.poll(() => toggle.getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => toggle.evaluate((element) => element === document.activeElement)).toBe(true);
    const json = JSON.parse((await page.locator(`#event-${failure?.seq}-json`).textContent()) ?? "{}");
    expect(json).toEqual(failure);

    await page.screenshot({ path: join(ARTIFACTS, "viewer.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows reconnecting when the server drops the connection, then live, with no row missing or twice", async () => {
    const traceId = newTraceId("reconnect");
    const trace = producer(traceId);
    trace.plan({ goal: "Survive a dropped connection", steps: 3, profile: "drill", total_budget: 100 });
    trace.toolCall("fetch_a", { domain: "drill" }).complete();
    const slow = trace.toolCall("slow_call", { domain: "drill" });
    await trace.flush();
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "live");
    await expect.poll(() => listedSeqs(page)).toEqual(range(4));
    expect(await timeline(page)).toEqual([
      ["fetch_a", "success"],
      ["slow_call", "pending"],
    ]);
    // A pending call keeps counting while it runs.
    const slowRow = page.locator('[data-tool="slow_call"]');
    const runningFor = await slowRow.textContent();
    expect(runningFor).toMatch(/running \d/);
    await expect.poll(() => slowRow.textContent()).not.toBe(runningFor);

    const [connectionId] = await subscriptionsOf(traceId);
    expect(connectionId).toBeDefined();
    let release = () => {};
    connectGate = new Promise((resolve) => {
      release = resolve;
    });
    try {
      await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      await connection(page, "reconnecting");
      expect(await page.getByRole("status").first().textContent()).toContain("Reconnecting");

      // The run goes on while the page is away: it must catch up on all of it.
      slow.complete();
      trace.toolCall("fetch_b", { domain: "drill" }).fail(new Error("upstream said no"));
      trace.budgetWarning({ used: 85, limit: 100 });
      await trace.flush();
      await stack.deliveriesIdle();
    } finally {
      release();
      connectGate = Promise.resolve();
    }

    await connection(page, "live");
    await expect.poll(() => listedSeqs(page)).toEqual(range(8));
    expect(await text(page, "event-count")).toBe("8 events");
    expect(await timeline(page)).toEqual([
      ["fetch_a", "success"],
      ["slow_call", "success"],
      ["fetch_b", "error"],
    ]);

    trace.complete({ steps_completed: 3 });
    await trace.close();
    await connection(page, "ended");
    expect(await listedSeqs(page)).toEqual(range(9));
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the whole history to a page opened after the run ended", async () => {
    const traceId = newTraceId("late");
    const trace = producer(traceId);
    trace.plan({ goal: "Finish before anyone watches", steps: 20 });
    for (let step = 0; step < 20; step++) {
      const call = trace.toolCall(`step_${step}`, { domain: "batch" });
      if (step === 13) call.fail(new Error("flaky"));
      else call.complete();
    }
    trace.complete({ steps_completed: 20 });
    await trace.close();
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended");
    expect(await listedSeqs(page)).toEqual(range(42));
    expect(await text(page, "event-count")).toBe("42 events");
    expect(await timeline(page)).toHaveLength(20);
    expect((await timeline(page))[13]).toEqual(["step_13", "error"]);
    expect(await text(page, "plan-events")).toBe("42 events");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("says loudly when another run reused the trace id: the page shows the first run and how many events were refused", async () => {
    const traceId = newTraceId("reused");
    for (const goal of ["The first run", "The second run, same id"]) {
      const trace = producer(traceId);
      trace.plan({ goal, steps: 1 });
      trace.toolCall("lookup", { domain: "support" }).complete();
      trace.complete({ steps_completed: 1 });
      await trace.close();
    }
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended");
    const banner = page.getByRole("alert");
    expect(await banner.textContent()).toContain("Another run reused this trace id: 4 events were refused.");
    expect(await banner.textContent()).toContain("(#0–3)");
    expect(await listedSeqs(page)).toEqual(range(4));
    expect(await page.getByText("The first run").count()).toBeGreaterThan(0);
    expect(await page.getByText("The second run, same id").count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/viewer-reused-trace-id.png` });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows why it failed when the token is refused", async () => {
    const { page } = await openViewer(`/?traceId=${newTraceId("bad-token")}&token=not-a-valid-jwt`);
    await connection(page, "failed", 30_000);
    const status = (await page.getByRole("status").first().textContent()) ?? "";
    expect(status).toContain("Failed");
    expect(status).toContain("the token was most likely refused");
    expect(await page.getByRole("button", { name: "Reconnect" }).isVisible()).toBe(true);
    // The plan card agrees with the header: nothing is running, the page failed to load the run.
    expect(await page.getByTestId("plan-outcome").getAttribute("data-outcome")).toBe("unavailable");
    expect(await text(page, "plan-outcome")).toContain("Failed");
    const card = (await page.getByTestId("plan-summary").textContent()) ?? "";
    expect(card).toContain("Could not load this run");
    expect(card).not.toMatch(/Running|Waiting for the run/);
    await page.close();
  });

  it("folds a late event into every panel as if it had arrived in order", async () => {
    const traceId = newTraceId("late-event");
    const trace = traceBuilder(traceId, Date.now() - 5_000);
    trace.add("plan_created", { goal: "Late events agree everywhere", steps: 1 });
    trace.add("tool_call_start", { tool: "search_kb", call_id: "a", domain: "support" });
    trace.wait(400);
    trace.add("tool_call_complete", { tool: "search_kb", call_id: "a", duration_ms: 380, success: true });
    trace.add("route_decision", { agent: "writer" });
    trace.wait(100);
    trace.add("plan_completed", { steps_completed: 1 });
    const [e0, e1, e2, e3, e4] = trace.events as TraceEvent[];
    await putTraceEvents(stack, [e0, e1, e3] as TraceEvent[]);
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await page.waitForSelector('[data-testid="missing"]', { timeout: 20_000 });
    expect(await text(page, "missing")).toContain("#2 (never stored on the server: not produced, or lost");
    expect(await timeline(page)).toEqual([["search_kb", "pending"]]);

    // The run's end arrives before the missing seq: the open call never finished; nothing runs.
    await putTraceEvents(stack, [e4] as TraceEvent[]);
    await connection(page, "ended");
    await expect.poll(() => timeline(page)).toEqual([["search_kb", "unfinished"]]);
    expect(await page.getByTestId("timeline").textContent()).toContain("never finished");
    expect(await page.getByTestId("plan-summary").textContent()).not.toContain("running");

    // Then seq 2 turns up: every panel shows it as if it had come in order.
    await putTraceEvents(stack, [e2] as TraceEvent[]);
    await expect.poll(() => listedSeqs(page)).toEqual(range(5));
    await expect.poll(() => timeline(page)).toEqual([["search_kb", "success"]]);
    expect(await text(page, "plan-events")).toBe("5 events");
    expect(await text(page, "event-count")).toBe("5 events");
    expect(await page.getByTestId("plan-outcome").getAttribute("data-outcome")).toBe("completed");
    expect(await page.getByTestId("plan-summary").textContent()).not.toMatch(/running|never finished/);
    expect(await page.getByTestId("timeline").textContent()).not.toContain("running");
    expect(await page.locator('[data-testid="missing"]').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows calls still open when the run ended as never finished, with no clock running", async () => {
    const traceId = newTraceId("unfinished");
    const trace = producer(traceId);
    trace.plan({ goal: "End with work still open", steps: 2 });
    trace.toolCall("quick_lookup", { domain: "ops" }).complete();
    trace.toolCall("slow_export", { domain: "ops" });
    trace.approval({ approval_id: "ap-1", tool: "refund", risk_level: "high" });
    trace.complete({ steps_completed: 1 });
    await trace.close();
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended");
    expect(await timeline(page)).toEqual([
      ["quick_lookup", "success"],
      ["slow_export", "unfinished"],
    ]);
    const slowRow = page.locator('[data-tool="slow_export"]');
    expect(await slowRow.textContent()).toContain("never finished");
    expect(await page.getByTestId("approval").getAttribute("data-state")).toBe("unfinished");
    const summary = (await page.getByTestId("plan-summary").textContent()) ?? "";
    expect(summary).toContain("1 never finished");
    expect(summary).not.toContain("running");
    const elapsed = await text(page, "plan-elapsed");
    await page.waitForTimeout(600);
    expect(await text(page, "plan-elapsed")).toBe(elapsed);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("says that nothing is stored for an unknown trace id, instead of a run about to start", async () => {
    const { page, problems } = await openViewer(`/?traceId=${newTraceId("never-written")}`);
    await connection(page, "live");
    await expect.poll(() => page.getByTestId("plan-outcome").getAttribute("data-outcome")).toBe("empty");
    expect(await text(page, "plan-outcome")).toContain("Nothing stored");
    expect(await page.getByTestId("plan-summary").textContent()).toContain(
      "Nothing is stored for this trace id yet",
    );
    expect(await text(page, "connection-detail")).toBe("nothing stored for this id yet");
    expect(await page.getByTestId("plan-summary").textContent()).not.toMatch(/Running|Waiting for the run/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows model calls with model, tokens, cost and duration, run totals, and budget meters fed by them", async () => {
    const traceId = newTraceId("model-calls");
    const trace = producer(traceId);
    trace.plan({ goal: "Answer a billing question", steps: 2, total_budget: { tokens: 4000, usd: 0.05 } });
    trace.llmCall("claude-sonnet", { provider: "anthropic" }).complete({
      input_tokens: 1800,
      output_tokens: 420,
      cost_usd: 0.0117,
      finish_reason: "tool_use",
    });
    trace.toolCall("lookup_invoice", { domain: "billing" }).complete();
    trace.llmCall("claude-sonnet", { provider: "anthropic" }).complete({
      input_tokens: 1200,
      output_tokens: 310,
      cost_usd: 0.0083,
    });
    trace.llmCall("claude-haiku", { provider: "anthropic" }).fail(new Error("overloaded"));
    trace.complete({ steps_completed: 2 });
    await trace.close();
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended");
    expect(await timeline(page)).toEqual([
      ["claude-sonnet", "success"],
      ["lookup_invoice", "success"],
      ["claude-sonnet", "success"],
      ["claude-haiku", "error"],
    ]);
    const usages = await page.getByTestId("call-usage").allTextContents();
    expect(usages[0]).toBe("anthropic · 1,800→420 tok · $0.0117");
    expect(await text(page, "call-counts")).toBe("1 tool call · 3 model calls");
    expect(await text(page, "plan-model-calls")).toBe("3 calls");
    expect(await text(page, "plan-tokens")).toBe("3,000 in · 730 out");
    expect(await text(page, "plan-cost")).toBe("$0.02");
    const budgets = await page.$$eval('[data-testid="budget"]', (items) =>
      items.map((item) => [
        item.querySelector(".budget__name")?.textContent,
        item.getAttribute("data-state"),
      ]),
    );
    expect(budgets).toEqual([
      ["tokens", "warning"],
      ["usd", "ok"],
    ]);
    expect(await page.getByTestId("budgets").textContent()).toContain("3,730 / 4,000");
    await page.screenshot({ path: join(ARTIFACTS, "viewer-model-calls.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("opens the event a #seq link points at, copies the trace id, an event's JSON and link, and exports JSON Lines", async () => {
    const traceId = newTraceId("share/links");
    const trace = producer(traceId);
    trace.plan({ goal: "Share what you see", steps: 3 });
    for (const tool of ["first_tool", "second_tool", "third_tool"]) trace.toolCall(tool).complete();
    trace.complete({ steps_completed: 3 });
    await trace.close();
    await stack.deliveriesIdle();
    const events = await storedEvents(traceId);

    const { page, problems } = await openViewer(`/?traceId=${encodeURIComponent(traceId)}#seq=5`);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: viewer.url });
    await connection(page, "ended");
    const linked = page.locator("#event-5-toggle");
    await expect.poll(() => linked.getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => linked.evaluate((element) => element === document.activeElement)).toBe(true);

    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await page.getByTestId("copy-trace-id").click();
    await expect.poll(clipboard).toBe(traceId);
    await page.getByTestId("copy-event-json").click();
    await expect.poll(async () => JSON.parse(await clipboard())).toEqual(events[5]);
    await page.getByTestId("copy-event-link").click();
    const link = new URL(await clipboard());
    expect(link.searchParams.get("traceId")).toBe(traceId);
    expect(link.searchParams.has("token")).toBe(false);
    expect(link.hash).toBe("#seq=5");

    // A link on the page moves the fragment and opens that event.
    await page.locator("#event-5-toggle").click();
    await page.evaluate(() => {
      window.location.hash = "seq=2";
    });
    await expect.poll(() => page.locator("#event-2-toggle").getAttribute("aria-expanded")).toBe("true");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export-jsonl").click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${traceId.replace("/", "_")}.jsonl`);
    const exported = await readFile((await download.path()) ?? "", "utf8");
    expect(exported.endsWith("\n")).toBe(true);
    expect(
      exported
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual(events);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows nested agents, tools and model calls as a collapsible span tree with a waterfall, readable at 390 px", async () => {
    const traceId = newTraceId("spans");
    const trace = producer(traceId);
    trace.plan({ goal: "Plan, research and write", steps: 2 });
    trace.custom("invoke_agent", { agent: "researcher" }, undefined, { span_id: "agent-research" });
    trace
      .toolCall("search_knowledge_base_for_refund_policy_documents", { parent_id: "agent-research" })
      .complete();
    trace.custom("invoke_agent", { agent: "writer" }, undefined, {
      span_id: "agent-writer",
      parent_id: "agent-research",
    });
    trace
      .llmCall("claude-sonnet", { parent_id: "agent-writer" })
      .complete({ input_tokens: 900, output_tokens: 200 });
    trace.complete({ steps_completed: 2 });
    await trace.close();
    await stack.deliveriesIdle();

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended");
    const rows = () =>
      page.$$eval('[data-testid="span-row"]', (items) =>
        items.map((item) => [
          item.querySelector(".spans__name")?.textContent,
          Number(item.getAttribute("data-depth")),
        ]),
      );
    expect(await rows()).toEqual([
      ["invoke_agent: researcher", 0],
      ["search_knowledge_base_for_refund_policy_documents", 1],
      ["invoke_agent: writer", 1],
      ["claude-sonnet", 2],
    ]);
    const bars = await page.$$eval('[data-testid="span-row"] .spans__bar', (items) =>
      items.map((item) => Number.parseFloat((item as HTMLElement).style.left)),
    );
    expect(bars).toEqual([...bars].sort((a, b) => a - b));

    await page.getByRole("button", { name: "Collapse invoke_agent: writer" }).click();
    expect((await rows()).map(([name]) => name)).not.toContain("claude-sonnet");
    await page.getByRole("button", { name: "Expand invoke_agent: writer" }).click();
    expect(await rows()).toHaveLength(4);
    await page.screenshot({ path: join(ARTIFACTS, "viewer-span-tree.png"), fullPage: true });

    // At 390 px long tool names and event summaries wrap instead of being cut.
    await page.setViewportSize({ width: 390, height: 900 });
    await page.waitForFunction(() => {
      const tool = document.querySelector('[data-tool^="search_knowledge"] .timeline__tool');
      return tool !== null && tool.getBoundingClientRect().height > 20;
    });
    const summaries = await page.locator(".event__summary").allTextContents();
    expect(summaries).toContain("search_knowledge_base_for_refund_policy_documents");
    const cut = await page.$$eval(
      ".spans__name, .plan__goal, .event__name, .timeline__tool, .event__summary",
      (items) =>
        items.filter((item) => item.scrollWidth > item.clientWidth + 1).map((item) => item.textContent),
    );
    expect(cut).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(ARTIFACTS, "viewer-390.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps a 10,000-event trace to a window of rows", { timeout: 120_000 }, async () => {
    const traceId = newTraceId("ten-thousand");
    const events = longRun(traceId, 4949, Date.now() - 60_000, 10_000);
    expect(events).toHaveLength(10_000);
    // Stored straight into the table (as the emitter stores them): the point is the page, not the bus.
    const batches: TraceEvent[][] = [];
    for (let index = 0; index < events.length; index += 25) batches.push(events.slice(index, index + 25));
    await Promise.all(
      range(8).map(async (worker) => {
        for (let index = worker; index < batches.length; index += 8) {
          let requests = (batches[index] ?? []).map((event) => ({
            PutRequest: {
              Item: {
                pk: keys.trace(traceId),
                sk: keys.event(event.seq),
                seq: event.seq,
                event: event.event,
                payload: JSON.stringify(event),
              },
            },
          }));
          while (requests.length > 0) {
            const result = await stack.clients.dynamo.send(
              new BatchWriteCommand({ RequestItems: { [stack.tableName]: requests } }),
            );
            requests = (result.UnprocessedItems?.[stack.tableName] ?? []) as typeof requests;
          }
        }
      }),
    );

    const { page, problems } = await openViewer(`/?traceId=${traceId}`);
    await connection(page, "ended", 60_000);
    expect(await text(page, "event-count")).toBe("10,000 events");
    expect(await text(page, "plan-events")).toBe("10,000 events");
    expect(await page.locator('[data-testid="events"] li[data-seq]').count()).toBeLessThan(80);
    expect(await page.locator('[data-testid="tool-call"]').count()).toBeLessThan(80);
    expect(await page.locator('[data-testid="events"] li[data-seq]').last().getAttribute("data-seq")).toBe(
      "9999",
    );

    // Filtering and jumping to the top stay within the window too.
    await page.getByLabel("Only errors and warnings").check();
    const statuses = await page.$$eval('[data-testid="events"] li[data-seq]', (rows) =>
      rows.map((row) => row.getAttribute("data-status")),
    );
    expect(new Set(statuses)).toEqual(new Set(["error", "warning"]));
    await page.getByLabel("Only errors and warnings").uncheck();
    await page.locator('[data-testid="events"] .virtual-list').evaluate((scroller) => {
      scroller.scrollTop = 0;
    });
    await page.waitForSelector('[data-testid="events"] li[data-seq="0"]');
    await page.screenshot({ path: join(ARTIFACTS, "viewer-10k.png") });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("works as a static build in deployed mode, configured by ?url and ?token, or hosted with config.json and the stack's CSP", {
    timeout: 60_000,
  }, async () => {
    const outDir = await mkdtemp(join(tmpdir(), "viewer-build-"));
    const { build } = await import("vite");
    await build({
      configFile: join(import.meta.dirname, "../../web/vite.config.ts"),
      logLevel: "silent",
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
    const deployed = await startViewerServer({ port: 0, assets: "build", distDir: outDir });
    try {
      const traceId = newTraceId("deployed");
      const trace = producer(traceId);
      trace.plan({ goal: "Served from the static build" });
      trace.toolCall("static_tool").complete();
      trace.complete();
      await trace.close();
      await stack.deliveriesIdle();

      const token = await stack.mintToken(traceId);
      const query = new URLSearchParams({ traceId, url: stack.endpoints.webSocketUrl, token });
      const { page, problems } = await openViewer(`/?${query}`, deployed.url);
      await connection(page, "ended");
      expect(await timeline(page)).toEqual([["static_tool", "success"]]);
      expect(await listedSeqs(page)).toEqual(range(4));
      expect(problems).toEqual([]);

      // Without a configuration, the start page says how to give one.
      await page.goto(deployed.url);
      expect(await text(page, "setup-problem")).toContain("No WebSocket URL is configured");
      await page.close();

      // As the stack hosts it: config.json next to the build (what BucketDeployment writes from
      // the stack's outputs) and the Content-Security-Policy CloudFront sends with every file.
      const config: HostedViewerConfig = {
        webSocketUrl: stack.endpoints.webSocketUrl,
        authMode: "hs256",
        tokenEndpoint: { url: "https://tok123.execute-api.eu-west-1.amazonaws.com/token", auth: "aws_iam" },
      };
      await writeFile(join(outDir, HOSTED_CONFIG_FILE), JSON.stringify(config));
      const csp = viewerContentSecurityPolicy([new URL(stack.endpoints.webSocketUrl).origin]);
      const serveStatic = createStaticHandler(outDir);
      const hosting = createServer((request, response) => {
        response.setHeader("content-security-policy", csp);
        response.setHeader("x-content-type-options", "nosniff");
        void serveStatic(request, response);
      });
      const hostedUrl = `${httpUrl("127.0.0.1", await listen(hosting, "hosted viewer", "127.0.0.1", 0))}/`;
      try {
        const fragment = new URLSearchParams({ token });
        const hosted = await openViewer(`/?traceId=${encodeURIComponent(traceId)}#${fragment}`, hostedUrl);
        const violations: string[] = [];
        hosted.page.on("console", (message) => {
          if (message.text().includes("Content Security Policy")) violations.push(message.text());
        });
        await connection(hosted.page, "ended");
        expect(await timeline(hosted.page)).toEqual([["static_tool", "success"]]);
        expect(hosted.problems).toEqual([]);
        expect(violations).toEqual([]);

        // Without a token in the link, the page says how to get one from the token endpoint.
        await hosted.page.goto(hostedUrl);
        const help = await text(hosted.page, "setup-problem");
        expect(help).toContain("#token=JWT");
        expect(help).toContain('curl --aws-sigv4 "aws:amz:eu-west-1:execute-api"');
        expect(hosted.problems).toEqual([]);
        await hosted.page.close();
      } finally {
        await closeServer(hosting);
      }
    } finally {
      await deployed.close();
      await rm(outDir, { recursive: true, force: true });
    }
  });
});
