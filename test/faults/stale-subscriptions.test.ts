import { DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CONNECT_GRACE_MS } from "../../lambdas/emitter/emitter.js";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import { SUBSCRIPTION_TTL_SECONDS } from "../../protocol/limits.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";
import { eventually } from "../soak/trace-watchers.js";
import {
  expectEveryClientShowedExactly,
  liveWatchers,
  newTraceId,
  produceInBatches,
  subscribedConnections,
  terminatedRun,
} from "./fault-scenario.js";

/** Connection ids as API Gateway makes them, for connections that no longer exist. */
const ghostIds = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => `ghost${tag}${String(i).padStart(4, "0")}=`);

describe("stale subscriptions and lost $disconnects", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(async () => {
    stack.faults.gateway.dropDisconnect = false;
    await stack.deliveriesIdle();
  });
  afterAll(() => stack?.stop());

  it("subscriptions whose connections answer 410 are pruned, and live clients still get every event once", async () => {
    const traceId = newTraceId("gone");
    const store = dynamoTraceStore(stack.clients.dynamo, stack.tableName);
    const ghosts = ghostIds(20, "a");
    const connectedAt = stack.clock.now() - 10 * 60_000;
    for (const connectionId of ghosts) {
      await store.putSubscription({
        traceId,
        connectionId,
        connectedAt,
        expiresAt: Math.floor(connectedAt / 1000) + SUBSCRIPTION_TTL_SECONDS,
      });
    }
    const watchers = await liveWatchers(stack, traceId, 3);
    const live = await subscribedConnections(stack, traceId);
    expect(live).toHaveLength(23);

    const produced = terminatedRun(traceId, 12);
    await produceInBatches(stack, produced, 4);
    await expectEveryClientShowedExactly(watchers, produced);
    await stack.deliveriesIdle();
    const remaining = await subscribedConnections(stack, traceId);
    expect(remaining.filter((id) => ghosts.includes(id))).toEqual([]);
  });

  it("a subscription younger than the connect window is kept when it answers 410 (it may still be connecting)", async () => {
    const traceId = newTraceId("young-gone");
    const store = dynamoTraceStore(stack.clients.dynamo, stack.tableName);
    const [ghost] = ghostIds(1, "b");
    await store.putSubscription({
      traceId,
      connectionId: ghost!,
      connectedAt: stack.clock.now(),
      expiresAt: Math.floor(stack.clock.now() / 1000) + SUBSCRIPTION_TTL_SECONDS,
    });
    const watchers = await liveWatchers(stack, traceId, 1);
    const produced = terminatedRun(traceId, 3);
    await produceInBatches(stack, produced, 3);
    await expectEveryClientShowedExactly(watchers, produced);
    await stack.deliveriesIdle();
    expect(await subscribedConnections(stack, traceId)).toContain(ghost);
  });

  it("with $disconnect lost, clients that reconnect still show every event once; 410s and TTL clear what is left", async () => {
    const traceId = newTraceId("lost-disconnect");
    stack.faults.gateway.dropDisconnect = true;
    const watchers = await liveWatchers(stack, traceId, 3);
    /** Waits until the table holds `count` subscriptions of the trace and every client is live. */
    const settled = (count: number) =>
      eventually(
        async () =>
          (await subscribedConnections(stack, traceId)).length === count &&
          watchers.every((watcher) => watcher.client.state.status === "live"),
        `${count} subscriptions and every client live again`,
      );
    const produced = terminatedRun(traceId, 30);
    let replaced: string[] = [];

    await produceInBatches(stack, produced.slice(0, 20), 5, async (batch) => {
      if (batch === 0) {
        // The server deletes one connection, then every client replaces its own: no $disconnect either way.
        const [first] = await subscribedConnections(stack, traceId);
        await stack.clients.management.send(new DeleteConnectionCommand({ ConnectionId: first }));
        await settled(4);
        replaced = await subscribedConnections(stack, traceId);
        for (const watcher of watchers) watcher.client.reconnect();
        await settled(7);
        // Past the connect window, a 410 from a replaced connection prunes it.
        stack.clock.advance(CONNECT_GRACE_MS + 1_000);
      }
    });
    expect(replaced).toHaveLength(4);
    await produceInBatches(stack, produced.slice(20), 5);
    await expectEveryClientShowedExactly(watchers, produced);
    await stack.deliveriesIdle();
    expect((await subscribedConnections(stack, traceId)).filter((id) => replaced.includes(id))).toEqual([]);

    // What the ended clients left behind (their $disconnect was dropped too) expires with the TTL.
    stack.clock.advance((SUBSCRIPTION_TTL_SECONDS + 60) * 1000);
    await stack.sweepExpired();
    expect(await subscribedConnections(stack, traceId)).toEqual([]);
  });
});
