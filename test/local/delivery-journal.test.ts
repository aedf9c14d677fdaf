import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeliveryJournal } from "../../local/delivery-journal.js";
import type { EventBridgeEnvelope } from "../../local/put-events.js";

const envelope = (id: string) =>
  ({
    version: "0",
    id,
    "detail-type": "tool_call_start",
    source: "trace-stream",
    account: "000000000000",
    time: "2026-12-02T00:00:00Z",
    region: "us-east-1",
    resources: [],
    detail: { seq: 1 },
  }) satisfies EventBridgeEnvelope;

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("DeliveryJournal", () => {
  it("keeps what was accepted and not settled across a reopen, in order", async () => {
    dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await DeliveryJournal.open(dir);
    await journal.accept([envelope("a"), envelope("b"), envelope("c")]);
    journal.settle("b");
    await journal.close();
    const reopened = await DeliveryJournal.open(dir);
    expect(reopened.unsettled().map((e) => e.id)).toEqual(["a", "c"]);
    await reopened.close();
  });

  it("ignores a last line cut short by a crash mid-append (it was never acknowledged)", async () => {
    dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await DeliveryJournal.open(dir);
    await journal.accept([envelope("a")]);
    await journal.close();
    await appendFile(join(dir, "eventbridge-accepted.jsonl"), '{"accepted":{"version":"0","id":"tor');
    const reopened = await DeliveryJournal.open(dir);
    expect(reopened.unsettled().map((e) => e.id)).toEqual(["a"]);
    await reopened.close();
  });

  it("compacts on open: settled events leave the file", async () => {
    dir = await mkdtemp(join(tmpdir(), "journal-"));
    const journal = await DeliveryJournal.open(dir);
    await journal.accept(["a", "b", "c", "d"].map(envelope));
    for (const id of ["a", "b", "d"]) journal.settle(id);
    await journal.close();
    await (await DeliveryJournal.open(dir)).close();
    const lines = (await readFile(join(dir, "eventbridge-accepted.jsonl"), "utf8")).trim().split("\n");
    expect(lines.map((line) => (JSON.parse(line) as { accepted: { id: string } }).accepted.id)).toEqual([
      "c",
    ]);
  });
});
