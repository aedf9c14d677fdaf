/**
 * Hostile nesting against the whole local stack: metadata thousands of levels deep (about 30 KB of
 * JSON) used to overflow the redactor and then the local Lambda runner's failure handler, which
 * killed the process and, on the way, queued the raw payload. Each case must be refused with a
 * reason, leave no secret anywhere, and leave the stack serving.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../soak/trace-watchers.js";
import { type AttackStack, leaks, rawEvent, startAttackStack } from "./attack-stack.js";

const unique = (label: string) => `${label}-${randomBytes(10).toString("hex")}`;

/** Metadata `depth` levels deep with a secret under a secret key and in free text at every level. */
function deepMetadata(depth: number, secrets: { password: string; bearer: string }) {
  let value: Record<string, unknown> = { password: secrets.password };
  for (let level = 1; level < depth; level++) {
    value =
      level % 2 === 0
        ? { c: value, passwd: secrets.password }
        : { c: [value], n: `Bearer ${secrets.bearer}` };
  }
  return value;
}

/** The JSON text of deepMetadata, built without recursion (JSON.stringify overflows at this depth). */
function deepMetadataText(depth: number, secrets: { password: string; bearer: string }) {
  const opens: string[] = [];
  const closes: string[] = [];
  for (let level = depth - 1; level >= 1; level--) {
    if (level % 2 === 0) {
      opens.push('{"c":');
      closes.push(`,"passwd":${JSON.stringify(secrets.password)}}`);
    } else {
      opens.push('{"c":[');
      closes.push(`],"n":${JSON.stringify(`Bearer ${secrets.bearer}`)}}`);
    }
  }
  return `${opens.join("")}{"password":${JSON.stringify(secrets.password)}}${closes.reverse().join("")}`;
}

describe("deeply nested event bodies", () => {
  let attack: AttackStack;
  const secrets = { password: unique("pw"), bearer: unique("tok") };
  const traceId = `attack-deep-${process.pid}`;

  beforeAll(async () => {
    attack = await startAttackStack();
  });
  afterAll(() => attack?.stop());

  it("are dead-lettered as invalid_event, leak nothing, and leave the stack serving", async () => {
    const viewer = await attack.watch(traceId);
    const depths = [33, 1_000, 4_100, 5_000];
    const bodies = depths.map((depth, seq) =>
      JSON.stringify(rawEvent(traceId, seq, "METADATA")).replace(
        '"METADATA"',
        deepMetadataText(depth, secrets),
      ),
    );
    expect(JSON.parse(bodies[0] ?? "").metadata).toEqual(deepMetadata(33, secrets));
    expect(Buffer.byteLength(bodies[3] ?? "")).toBeGreaterThan(30_000);
    for (const body of bodies) expect(await attack.put(body)).toEqual({ failed: false });
    await attack.stack.deliveriesIdle();
    await eventually(
      () => attack.stack.deadLetters().length >= depths.length,
      "a dead letter per body",
      30_000,
    );

    const deadLetters = attack.stack.deadLetters();
    expect(deadLetters).toHaveLength(depths.length);
    for (const letter of deadLetters) {
      expect(letter.attributes.ERROR_CODE).toBe("invalid_event");
      expect(letter.payload).toMatchObject({
        code: "invalid_event",
        reason: "metadata: nests deeper than 32 levels (MAX_METADATA_DEPTH)",
      });
    }
    expect(attack.stack.emitterFailures()).toEqual([]);

    // Still serving: the next valid event is stored and delivered live.
    await attack.put(rawEvent(traceId, 0, { tool: "after-the-attack" }));
    await viewer.waitFor((frame) => frame.type === "event" && frame.seq === 0);
    expect(leaks(await attack.places(), Object.values(secrets))).toEqual({});
  });
});

describe("deeply nested WebSocket messages", () => {
  let attack: AttackStack;

  beforeAll(async () => {
    attack = await startAttackStack();
  });
  afterAll(() => attack?.stop());

  it("are answered or ignored without a crash, and the connection keeps working", async () => {
    const traceId = `attack-deep-ws-${process.pid}`;
    const viewer = await attack.watch(traceId);
    const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const bodies = [
      `{"action":"resume","afterSeq":${deep(15_000)}}`,
      `{"action":${deep(15_000)}}`,
      `{"action":"ping","x":${deep(15_000)}}`,
      deep(15_000),
    ];
    for (const body of bodies) viewer.send(body);
    viewer.send({ action: "resume", afterSeq: -1 });
    // The resume after the attack is answered: the connection and the stack still serve.
    await viewer.waitFor(() => viewer.frames().filter((frame) => frame.type === "synced").length >= 2);
    expect(viewer.frames().filter((frame) => frame.type === "synced").length).toBe(2);
    expect(attack.stack.connections()).toHaveLength(1);
  });
});

describe("the local stack's on-failure path", () => {
  let attack: AttackStack;
  const secrets = { password: unique("pw"), bearer: unique("tok") };

  beforeAll(async () => {
    // An emitter that always fails and a failure recorder that is down: the stack's own fallback
    // is all that stands between Lambda's raw failure record and the queue.
    attack = await startAttackStack({
      handlers: {
        emitter: () => async () => {
          throw new Error("emitter down (injected)");
        },
        "failure-recorder": () => async () => {
          throw new Error("failure recorder down (injected)");
        },
      },
    });
  });
  afterAll(() => attack?.stop());

  it("queues a redacted record for shallow and 10,000-deep payloads, and never crashes", async () => {
    const traceId = `attack-fallback-${process.pid}`;
    for (const depth of [3, 10_000]) {
      attack.stack.invokeAsync("emitter", {
        version: "0",
        id: unique("id"),
        "detail-type": "tool_call_start",
        source: "trace-stream",
        account: "000000000000",
        time: new Date().toISOString(),
        region: "us-east-1",
        resources: [],
        detail: rawEvent(traceId, depth, deepMetadata(depth, secrets)),
      });
    }
    await attack.stack.deliveriesIdle();
    const failures = attack.stack.emitterFailures();
    expect(failures).toHaveLength(2);
    for (const failure of failures) {
      expect(failure.payload).toMatchObject({ requestContext: { condition: "RetriesExhausted" } });
    }
    expect(leaks(await attack.places(), Object.values(secrets))).toEqual({});
  });
});
