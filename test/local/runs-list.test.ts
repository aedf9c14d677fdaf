/**
 * The runs list on the local stack: a `?runs=1` connection, `listRuns` pages and live `run` frames,
 * filtered by the token's grants on the server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler as createConnectHandler } from "../../lambdas/connect/handler.js";
import { DEFAULT_RUNS_WATCHERS_CACHE_MS } from "../../lambdas/emitter/handler.js";
import { ENV } from "../../lambdas/shared/env-names.js";
import { dynamoRunsWatchers } from "../../lambdas/shared/runs-watchers.js";
import { MAX_RUNS_WATCHER_GRANTS, RUNS_REQUESTS_PER_WINDOW } from "../../protocol/index.js";
import {
  openSubscriber,
  putTraceEvents,
  type Subscriber,
  startTestStack,
  type TestStack,
  traceEvent,
  UpgradeRefused,
} from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

const runsUrl = (token: string) =>
  `${stack.endpoints.webSocketUrl}?runs=1&token=${encodeURIComponent(token)}`;

async function refusal(url: string): Promise<number> {
  try {
    const socket = await openSubscriber(url);
    await socket.close();
    return 101;
  } catch (error) {
    if (error instanceof UpgradeRefused) return error.statusCode;
    throw error;
  }
}

/** Frames of one type a socket received, in order. */
const framesOf = (socket: Subscriber, type: string) => socket.frames().filter((frame) => frame.type === type);
const runIds = (socket: Subscriber) =>
  framesOf(socket, "run").map((frame) => (frame.run as { trace_id: string }).trace_id);

describe("the runs list subscription", () => {
  let teamA: Subscriber;
  let teamB: Subscriber;
  const started = Date.now();
  const goalEvent = (traceId: string, goal: string) =>
    traceEvent(traceId, 0, {
      event: "plan_created",
      metadata: { goal },
      timestamp: new Date(started).toISOString(),
    });

  beforeAll(async () => {
    teamA = await openSubscriber(runsUrl(await stack.mintToken("team-a/*")));
    teamB = await openSubscriber(runsUrl(await stack.mintToken(["team-b/*", "shared-run"])));
    // Past the emitter's watcher cache, so the events below see both watchers.
    stack.clock.advance(DEFAULT_RUNS_WATCHERS_CACHE_MS + 1);
    await putTraceEvents(stack, [
      goalEvent("team-a/refund-1", "Refund order 1234"),
      goalEvent("team-b/secret-1", "Team B's private goal"),
      goalEvent("shared-run", "Shared"),
      goalEvent("shared-run-2", "Not granted: an exact grant is not a prefix"),
    ]);
    await stack.deliveriesIdle();
  });
  afterAll(async () => {
    await teamA?.close();
    await teamB?.close();
  });

  it("sends each watcher the new runs its token grants, and never another team's", async () => {
    await teamA.waitFor((frame) => frame.type === "run");
    await teamB.waitFor(
      (frame) => frame.type === "run" && (frame.run as { trace_id: string }).trace_id === "shared-run",
    );
    expect(runIds(teamA)).toEqual(["team-a/refund-1"]);
    expect(runIds(teamB).sort()).toEqual(["shared-run", "team-b/secret-1"]);
    expect(framesOf(teamA, "run")[0]?.run).toMatchObject({
      trace_id: "team-a/refund-1",
      goal: "Refund order 1234",
      status: "running",
      started_at: started,
      tool_calls: 0,
    });
  });

  it("updates a run live as it progresses", async () => {
    await putTraceEvents(stack, [
      traceEvent("team-a/refund-1", 1, {
        event: "tool_call_start",
        metadata: { tool: "refund", call_id: "c1" },
      }),
      traceEvent("team-a/refund-1", 2, {
        event: "llm_call_complete",
        metadata: { call_id: "m1", model: "m", input_tokens: 1200, output_tokens: 300, cost_usd: 0.02 },
      }),
      traceEvent("team-a/refund-1", 3, { event: "plan_completed", metadata: {} }),
    ]);
    const done = await teamA.waitFor(
      (frame) => frame.type === "run" && (frame.run as { status: string }).status === "completed",
    );
    expect(done.run).toMatchObject({
      tool_calls: 1,
      model_calls: 1,
      input_tokens: 1200,
      output_tokens: 300,
      cost_usd: 0.02,
    });
    await stack.deliveriesIdle();
    expect(new Set(runIds(teamA))).toEqual(new Set(["team-a/refund-1"]));
  });

  it("answers listRuns with a page of the granted runs only, filtered by status and search", async () => {
    const page = async (socket: Subscriber, request: Record<string, unknown>) => {
      const before = framesOf(socket, "runs").length + framesOf(socket, "error").length;
      socket.send({ action: "listRuns", ...request });
      await eventually(
        () => framesOf(socket, "runs").length + framesOf(socket, "error").length > before,
        "the listRuns answer",
        10_000,
      );
      return socket
        .frames()
        .filter((frame) => frame.type === "runs" || frame.type === "error")
        .at(-1);
    };
    const ids = (frame: Record<string, unknown> | undefined) =>
      ((frame?.runs ?? []) as { trace_id: string }[]).map((run) => run.trace_id);

    expect(new Set(ids(await page(teamB, {})))).toEqual(new Set(["shared-run", "team-b/secret-1"]));
    expect(ids(await page(teamA, {}))).toEqual(["team-a/refund-1"]);
    expect(ids(await page(teamA, { status: "completed" }))).toEqual(["team-a/refund-1"]);
    expect(ids(await page(teamA, { status: "running" }))).toEqual([]);
    expect(ids(await page(teamA, { search: "REFUND order" }))).toEqual(["team-a/refund-1"]);
    expect(ids(await page(teamA, { search: "team-a/ref" }))).toEqual(["team-a/refund-1"]);
    // Another team's goal is not found, whatever the search says.
    expect(ids(await page(teamA, { search: "private" }))).toEqual([]);
    expect(ids(await page(teamB, { search: "private" }))).toEqual(["team-b/secret-1"]);
    const one = await page(teamB, { limit: 1 });
    expect(ids(one)).toHaveLength(1);
    const rest = await page(teamB, { limit: 1, after: one?.next });
    expect([...ids(one), ...ids(rest)].sort()).toEqual(["shared-run", "team-b/secret-1"]);
  });

  it("answers bad listRuns input with an error frame", async () => {
    const errorFor = async (body: string | Record<string, unknown>) => {
      const before = framesOf(teamA, "error").length;
      teamA.send(body);
      await eventually(() => framesOf(teamA, "error").length > before, "an error frame", 10_000);
      return framesOf(teamA, "error").at(-1);
    };
    expect(await errorFor({ action: "listRuns", limit: 1000 })).toMatchObject({ code: "invalid_message" });
    expect(await errorFor({ action: "listRuns", status: "paused" })).toMatchObject({
      code: "invalid_message",
    });
    expect(await errorFor({ action: "listRuns", search: "x".repeat(200) })).toMatchObject({
      code: "invalid_message",
    });
    expect(await errorFor({ action: "listRuns", after: "not a cursor" })).toMatchObject({
      code: "invalid_message",
      message: expect.stringMatching(/cursor/),
    });
    expect(await errorFor({ action: "listRuns", extra: 1 })).toMatchObject({ code: "invalid_message" });
  });

  it("answers every listRuns of a flood, and at most its window's budget with a page", async () => {
    const flooder = await openSubscriber(runsUrl(await stack.mintToken("team-a/*")));
    for (let n = 0; n < RUNS_REQUESTS_PER_WINDOW + 5; n++) flooder.send({ action: "listRuns", limit: 1 });
    const answers = () => framesOf(flooder, "runs").length + framesOf(flooder, "error").length;
    await eventually(() => answers() === RUNS_REQUESTS_PER_WINDOW + 5, "every request answered", 20_000);
    // The test clock stands still: one window for the whole flood.
    expect(framesOf(flooder, "runs")).toHaveLength(RUNS_REQUESTS_PER_WINDOW);
    expect(framesOf(flooder, "error")).toHaveLength(5);
    for (const refusal of framesOf(flooder, "error")) {
      expect(refusal).toMatchObject({ code: "rate_limited", retry_after_ms: expect.any(Number) });
    }
    await flooder.close();
  });

  it("tells a trace connection that it does not watch the runs list", async () => {
    const viewer = await openSubscriber(
      `${stack.endpoints.webSocketUrl}?traceId=team-a/refund-1&token=${await stack.mintToken("team-a/*")}`,
    );
    viewer.send({ action: "listRuns" });
    expect(await viewer.waitFor((frame) => frame.type === "error")).toMatchObject({ code: "not_subscribed" });
    await viewer.close();
  });

  it("refuses a runs connection with a trace id (400) or with too many grants (403)", async () => {
    const token = await stack.mintToken("team-a/*");
    expect(await refusal(`${stack.endpoints.webSocketUrl}?runs=1&traceId=t&token=${token}`)).toBe(400);
    expect(await refusal(`${stack.endpoints.webSocketUrl}?runs=yes&token=${token}`)).toBe(400);
    const many = Array.from({ length: MAX_RUNS_WATCHER_GRANTS + 1 }, (_, index) => `t${index}/*`);
    expect(await refusal(runsUrl(await stack.mintToken(many)))).toBe(403);
  });

  it("deletes the watcher when its connection closes", async () => {
    const watchers = dynamoRunsWatchers(stack.clients.dynamo, stack.tableName);
    const socket = await openSubscriber(runsUrl(await stack.mintToken("team-z/*")));
    const count = async () => (await watchers.list(100)).length;
    const open = await count();
    await socket.close();
    await eventually(async () => (await count()) === open - 1, "the watcher to be deleted", 10_000);
  });
});

describe("the runs watchers' cap", () => {
  let capped: TestStack;
  beforeAll(async () => {
    capped = await startTestStack({
      handlers: {
        connect: (env, runtime) => createConnectHandler({ ...env, [ENV.maxRunsWatchers]: "2" }, runtime),
      },
    });
  });
  afterAll(() => capped?.stop());

  it("refuses a runs watcher over MAX_RUNS_WATCHERS with 429, and admits one again when a watcher leaves", async () => {
    const url = async () => `${capped.endpoints.webSocketUrl}?runs=1&token=${await capped.mintToken("*")}`;
    const first = await openSubscriber(await url());
    const second = await openSubscriber(await url());
    expect(await refusal(await url())).toBe(429);
    await first.close();
    const watchers = dynamoRunsWatchers(capped.clients.dynamo, capped.tableName);
    await eventually(async () => (await watchers.list(10)).length === 1, "the first watcher deleted", 10_000);
    expect(await refusal(await url())).toBe(101);
    await second.close();
  });
});
