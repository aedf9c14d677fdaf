import { DeleteConnectionCommand, GoneException } from "@aws-sdk/client-apigatewaymanagementapi";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTrace, type Trace } from "../../client/producer.js";
import { keys } from "../../lib/table-design.js";
import type { TraceEvent } from "../../protocol/trace-event.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";
import {
  compareDelivery,
  eventually,
  isComplete,
  realClock,
  seededRandom,
  summarize,
  type Watcher,
  watchTrace,
} from "./trace-watchers.js";

/**
 * The soak: 100 real clients (TraceStreamClient over `ws`) watch 20 traces while producers emit
 * 5,000 events through the producer SDK and the local EventBridge, which duplicates and reorders
 * deliveries, and while the server deletes random connections (@connections DELETE). Two of each
 * trace's five clients join half-way. Afterwards every client must hold exactly the producer's
 * sequence.
 *
 * Everything runs in this one process, which delivers roughly 50–100 events a second to five
 * viewers each. A producer that ran far ahead would only queue thousands of emitter invocations
 * (Lambda would scale out; one process cannot), so each producer stays at most WINDOW events ahead
 * of its trace's furthest viewer, or waits at most WINDOW_WAIT_MS for it.
 */
const TRACES = 20;
const EVENTS_PER_TRACE = 250;
const CLIENTS_PER_TRACE = 5;
const LATE_JOINERS_PER_TRACE = 2;
const WINDOW = 30;
const WINDOW_WAIT_MS = 3_000;
const SEED = Number(process.env.SOAK_SEED ?? 20_261_126);
/** Bounds that only a stuck run reaches (about a minute is usual on 2 cores, more under load). */
const PRODUCE_WITHIN_MS = 240_000;
const COMPLETE_WITHIN_MS = 120_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Emits a plausible run of `count` events (plan, tool calls, routes, budget warnings, completion),
 * holding back while `viewedUpTo()` trails by more than WINDOW.
 */
async function produce(
  trace: Trace,
  count: number,
  random: () => number,
  hooks: { viewedUpTo: () => number; halfway: () => void },
) {
  const keepPace = async () => {
    const deadline = Date.now() + WINDOW_WAIT_MS;
    while (trace.nextSeq - hooks.viewedUpTo() > WINDOW && Date.now() < deadline) await pause(20);
  };
  trace.plan({ goal: `soak ${trace.traceId}`, steps: count });
  while (trace.nextSeq < count - 1) {
    await keepPace();
    const left = count - 1 - trace.nextSeq;
    const pick = random();
    if (pick < 0.5 && left >= 2) {
      const call = trace.toolCall("search_kb", { domain: "support", side_effect_class: "read" });
      call.complete({ hits: Math.floor(random() * 10) });
    } else if (pick < 0.8) {
      trace.route({ agent: "researcher", reason: `step ${trace.nextSeq}` });
    } else {
      trace.budgetWarning({ budget_type: "tokens", used: 800, limit: 1000 });
    }
    if (trace.nextSeq >= count / 2) hooks.halfway();
    if (random() < 0.2) await trace.flush();
  }
  trace.complete({ steps_completed: count - 1 });
  await trace.close();
}

/** Open connections whose subscription item is gone: the emitter can no longer reach them. */
async function openConnectionsWithoutSubscription(stack: TestStack) {
  const lonely: { connectionId: string; traceId: string }[] = [];
  for (const connection of stack.connections()) {
    const traceId = String(connection.authorizer?.traceId ?? "");
    const { Item } = await stack.clients.dynamo.send(
      new GetCommand({
        TableName: stack.tableName,
        Key: { pk: keys.trace(traceId), sk: keys.connection(connection.connectionId) },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) lonely.push({ connectionId: connection.connectionId, traceId });
  }
  return lonely;
}

/** Resolves with `work`, or rejects once `ms` have passed without it settling. */
function eventuallyDone<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function describeIncomplete(watchers: readonly Watcher[]): string {
  const incomplete = watchers.filter((watcher) => !isComplete(watcher));
  return `${incomplete.length} clients, e.g. ${JSON.stringify(
    incomplete.slice(0, 5).map((watcher) => {
      const snapshot = watcher.client.getSnapshot();
      return {
        traceId: watcher.traceId,
        state: snapshot.state,
        lastSeq: snapshot.lastSeq,
        missing: snapshot.missing,
        shown: watcher.shown.length,
        error: snapshot.error?.message,
      };
    }),
  )}`;
}

describe("soak: 100 clients, 5,000 events, random disconnects, duplicated and reordered deliveries", () => {
  let stack: TestStack;

  beforeAll(async () => {
    // Real time: the emitter prunes a 410 subscription only once it is older than its connect window.
    stack = await startTestStack({
      clock: realClock(),
      faults: { eventBridge: { duplicateProbability: 0.1, reorderWindow: 4, reorderMaxHoldMs: 30 } },
    });
  });
  afterAll(() => stack?.stop());

  it(
    "leaves every client with exactly the producer's sequence: none lost, none shown twice",
    async () => {
      const random = seededRandom(SEED);
      const watchers: Watcher[] = [];
      const produced = new Map<string, TraceEvent[]>();
      const producers: Promise<void>[] = [];

      for (let t = 0; t < TRACES; t++) {
        const traceId = `soak-${SEED}-${t}`;
        const trace = createTrace({
          traceId,
          endpoint: stack.endpoints.eventBridge,
          busName: stack.busName,
          source: stack.source,
        });
        const events: TraceEvent[] = [];
        produced.set(traceId, events);
        const original = trace.emit.bind(trace);
        // Record exactly what the SDK sends (validated and redacted), in seq order.
        trace.emit = ((...args: Parameters<Trace["emit"]>) => {
          const event = original(...args);
          events.push(event);
          return event;
        }) as Trace["emit"];

        const early = Array.from({ length: CLIENTS_PER_TRACE - LATE_JOINERS_PER_TRACE }, () =>
          watchTrace(stack, traceId),
        );
        for (const watcher of early) watcher.client.connect();
        watchers.push(...early);

        let joined = false;
        const joinLate = () => {
          if (joined) return;
          joined = true;
          for (let i = 0; i < LATE_JOINERS_PER_TRACE; i++) {
            const watcher = watchTrace(stack, traceId);
            watcher.client.connect();
            watchers.push(watcher);
          }
        };
        const viewedUpTo = () =>
          Math.max(...watchers.filter((w) => w.traceId === traceId).map((w) => w.client.lastSeq));
        producers.push(
          produce(trace, EVENTS_PER_TRACE, seededRandom(SEED + t + 1), { viewedUpTo, halfway: joinLate }),
        );
      }

      let chaosOn = true;
      let deletes = 0;
      const chaos = (async () => {
        while (chaosOn) {
          await pause(100 + random() * 200);
          const open = stack.connections();
          const victim = open[Math.floor(random() * open.length)];
          if (victim === undefined) continue;
          try {
            await stack.clients.management.send(
              new DeleteConnectionCommand({ ConnectionId: victim.connectionId }),
            );
            deletes++;
          } catch (error) {
            if (!(error instanceof GoneException)) throw error;
          }
        }
      })();

      const started = Date.now();
      await eventuallyDone(Promise.all(producers), PRODUCE_WITHIN_MS).catch((error: Error) => {
        chaosOn = false;
        throw new Error(`${error.message}: the producers; incomplete: ${describeIncomplete(watchers)}`);
      });
      const producedAfter = Date.now() - started;
      // Disconnects go on while EventBridge works through its backlog, then stop, so that the last
      // clients are not disconnected over and over while they catch up.
      await eventuallyDone(stack.deliveriesIdle(), COMPLETE_WITHIN_MS).finally(() => {
        chaosOn = false;
      });
      await chaos;
      await eventually(
        () => watchers.every(isComplete),
        "every client to end its trace with nothing missing",
        COMPLETE_WITHIN_MS,
        100,
      ).catch(async (error: Error) => {
        const unsubscribed = await openConnectionsWithoutSubscription(stack);
        throw new Error(
          `${error.message}; produced in ${producedAfter} ms; incomplete: ${describeIncomplete(watchers)}; ` +
            `open connections without a subscription: ${JSON.stringify(unsubscribed)}`,
        );
      });

      const reports = watchers.map((watcher) => ({
        traceId: watcher.traceId,
        ...compareDelivery(watcher, produced.get(watcher.traceId) ?? []),
      }));
      const summary = summarize(reports);
      const totalEvents = [...produced.values()].reduce((sum, events) => sum + events.length, 0);
      const duplicateDeliveriesDropped = watchers.reduce(
        (sum, watcher) => sum + watcher.client.getSnapshot().duplicateCount,
        0,
      );
      console.info(
        `soak (seed ${SEED}): ${summary.clients} clients, ${totalEvents} events over ${TRACES} traces, ` +
          `${deletes} server-side disconnects; lost ${summary.lost}, shown twice ${summary.duplicated}, ` +
          `altered ${summary.altered}; duplicate deliveries dropped by clients: ${duplicateDeliveriesDropped}; ` +
          `produced in ${(producedAfter / 1000).toFixed(1)} s, all clients complete after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      for (const watcher of watchers) watcher.client.disconnect();

      expect(watchers).toHaveLength(TRACES * CLIENTS_PER_TRACE);
      expect(totalEvents).toBe(TRACES * EVENTS_PER_TRACE);
      expect(deletes).toBeGreaterThan(0);
      expect(summary).toMatchObject({ lost: 0, duplicated: 0, altered: 0, sequencesNotEqual: 0 });
    },
    PRODUCE_WITHIN_MS + COMPLETE_WITHIN_MS + 60_000,
  );
});
