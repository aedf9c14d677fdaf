/**
 * The runs list, the viewer's start page, in headless Chromium against a real local stack: rows
 * appear and update live, the status filter and the search narrow them, a row opens its run, and
 * the page works at 390 px. Chromium comes from CHROMIUM_PATH (default /usr/bin/chromium); without
 * it the suite is skipped with a warning, unless REQUIRE_BROWSER=1, where its absence fails.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RUNS_WATCHERS_CACHE_MS } from "../../lambdas/emitter/handler.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { startViewerServer, type ViewerServer } from "../../web/viewer-server.js";
import { putTraceEvents, startTestStack, type TestStack, traceEvent } from "../helpers/local-stack.js";

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumAvailable = existsSync(CHROMIUM_PATH);
const browserRequired = process.env.REQUIRE_BROWSER === "1";
const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");

if (!chromiumAvailable && !browserRequired) {
  console.warn(`Skipping the runs list's browser tests: no Chromium at ${CHROMIUM_PATH}.`);
}

it.runIf(browserRequired)("has Chromium to run the runs list's browser tests (REQUIRE_BROWSER=1)", () => {
  expect(chromiumAvailable, `REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM_PATH}`).toBe(true);
});

const MINUTE = 60_000;

/** A run's events: its plan, then tool calls, model calls and an end, `minutesAgo` before now. */
function run(
  traceId: string,
  options: {
    goal: string;
    minutesAgo: number;
    tools?: number;
    end?: "completed" | "failed";
    costUsd?: number;
  },
): TraceEvent[] {
  const start = Date.now() - options.minutesAgo * MINUTE;
  let seq = 0;
  const at = (offsetMs: number) => new Date(start + offsetMs).toISOString();
  const events: TraceEvent[] = [
    traceEvent(traceId, seq++, { event: "plan_created", metadata: { goal: options.goal }, timestamp: at(0) }),
  ];
  for (let n = 0; n < (options.tools ?? 0); n++) {
    events.push(
      traceEvent(traceId, seq++, {
        event: "tool_call_start",
        status: "pending",
        metadata: { tool: "search", call_id: `c${n}` },
        timestamp: at(1000 + n * 1000),
      }),
    );
  }
  if (options.costUsd !== undefined) {
    events.push(
      traceEvent(traceId, seq++, {
        event: "llm_call_complete",
        metadata: {
          call_id: "m1",
          model: "m",
          input_tokens: 4200,
          output_tokens: 900,
          cost_usd: options.costUsd,
        },
        timestamp: at(20_000),
      }),
    );
  }
  if (options.end === "completed") {
    events.push(traceEvent(traceId, seq++, { event: "plan_completed", metadata: {}, timestamp: at(40_000) }));
  }
  if (options.end === "failed") {
    events.push(
      traceEvent(traceId, seq++, {
        event: "plan_failed",
        status: "error",
        metadata: { error: "card declined" },
        timestamp: at(30_000),
      }),
    );
  }
  return events;
}

describe.skipIf(!chromiumAvailable)("the runs list in Chromium", () => {
  let stack: TestStack;
  let viewer: ViewerServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    stack = await startTestStack();
    await putTraceEvents(stack, [
      ...run("shop/refund-4711", {
        goal: "Refund order 4711 to the customer's card",
        minutesAgo: 1,
        tools: 3,
        costUsd: 0.0132,
      }),
      ...run("shop/stock-check", {
        goal: "Check stock levels for the spring catalogue",
        minutesAgo: 9,
        tools: 2,
      }),
      ...run("shop/invoice-88", {
        goal: "Reconcile invoice 88 with the ledger",
        minutesAgo: 14,
        tools: 5,
        end: "completed",
        costUsd: 0.0481,
      }),
      ...run("shop/payout-12", {
        goal: "Pay out vendor 12",
        minutesAgo: 22,
        tools: 1,
        end: "failed",
        costUsd: 0.0025,
      }),
    ]);
    await stack.deliveriesIdle();
    viewer = await startViewerServer({ port: 0, stack, demoSpeed: 8, watch: false });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    await page.goto(viewer.url);
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    await stack?.stop();
  });

  const rows = (target: Page) =>
    target.$$eval('[data-testid="run-row"]', (found) =>
      found.map((row) => [row.getAttribute("data-trace-id"), row.getAttribute("data-state")]),
    );
  /** Waits until the rows are exactly these trace ids, in this order. */
  const showing = (...traceIds: string[]) =>
    page.waitForFunction(
      (expected) =>
        JSON.stringify(
          [...document.querySelectorAll('[data-testid="run-row"]')].map((row) =>
            row.getAttribute("data-trace-id"),
          ),
        ) === JSON.stringify(expected),
      traceIds,
      { timeout: 20_000 },
    );
  const rowCount = (count: number) =>
    page.waitForFunction((n) => document.querySelectorAll('[data-testid="run-row"]').length === n, count, {
      timeout: 20_000,
    });

  it("lists active runs first, then the rest newest first, a quiet run as stalled", async () => {
    await rowCount(4);
    expect(await rows(page)).toEqual([
      ["shop/refund-4711", "running"],
      ["shop/stock-check", "stalled"],
      ["shop/invoice-88", "completed"],
      ["shop/payout-12", "failed"],
    ]);
    await page.waitForSelector('[data-testid="runs-connection"]:has-text("Live")');
  });

  it("shows a new run and a run's progress without a reload", async () => {
    // Past the emitter's cached (empty) list of watchers, so it reads the page's.
    stack.clock.advance(DEFAULT_RUNS_WATCHERS_CACHE_MS + 1);
    await putTraceEvents(stack, run("shop/new-order", { goal: "Place order for 3 laptops", minutesAgo: 0 }));
    await rowCount(5);
    expect((await rows(page))[0]).toEqual(["shop/new-order", "running"]);
    await putTraceEvents(stack, [
      traceEvent("shop/new-order", 1, {
        event: "tool_call_start",
        status: "pending",
        metadata: { tool: "inventory", call_id: "x1" },
      }),
    ]);
    await page.waitForFunction(
      () =>
        document.querySelector('[data-trace-id="shop/new-order"] [data-testid="run-tools"]')?.textContent ===
        "1",
      undefined,
      { timeout: 20_000 },
    );
    await page.screenshot({ path: join(ARTIFACTS, "runs-list.png"), fullPage: true });
  });

  it("filters by status and searches by id prefix or goal", async () => {
    const all = [
      "shop/new-order",
      "shop/refund-4711",
      "shop/stock-check",
      "shop/invoice-88",
      "shop/payout-12",
    ];
    await page.selectOption('[data-testid="runs-status-filter"]', "failed");
    await showing("shop/payout-12");
    await page.selectOption('[data-testid="runs-status-filter"]', "stalled");
    await showing("shop/stock-check");
    expect(await rows(page)).toEqual([["shop/stock-check", "stalled"]]);
    await page.selectOption('[data-testid="runs-status-filter"]', "running");
    await showing("shop/new-order", "shop/refund-4711");
    await page.selectOption('[data-testid="runs-status-filter"]', "");
    await showing(...all);

    await page.fill('[data-testid="runs-search"]', "ledger");
    await showing("shop/invoice-88");
    await page.fill('[data-testid="runs-search"]', "shop/re");
    await showing("shop/refund-4711");
    await page.fill('[data-testid="runs-search"]', "");
    await showing(...all);
  });

  it("fits a 390 px screen without sideways scrolling", async () => {
    const narrow = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await narrow.goto(viewer.url);
    await narrow.waitForFunction(
      () => document.querySelectorAll('[data-testid="run-row"]').length === 5,
      undefined,
      {
        timeout: 20_000,
      },
    );
    const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await narrow.screenshot({ path: join(ARTIFACTS, "runs-list-390.png"), fullPage: true });
    await narrow.close();
  });

  it("opens a run when its row is clicked", async () => {
    await page.click('[data-trace-id="shop/invoice-88"]');
    await page.waitForURL(/traceId=shop%2Finvoice-88/);
    await page.waitForSelector('[data-connection="ended"], [data-connection="live"]', { timeout: 20_000 });
    expect(problems).toEqual([]);
  });
});
