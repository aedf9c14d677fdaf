import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTableInput, keys } from "../../lib/table-design.js";
import { type LocalDynamoDb, startDynamoDb } from "../../local/dynamodb.js";
import { createLogger } from "../../local/log.js";
import { type CliRun, startCli } from "../cli/run-cli.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

describe("DynamoDB (dynalite)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  it("has the table of lib/table-design.ts, active, in memory by default", async () => {
    const { Table } = await stack.clients.dynamo.send(
      new DescribeTableCommand({ TableName: stack.tableName }),
    );
    const expected = createTableInput(stack.tableName);
    expect(stack.tableName).toBe("trace-stream-local");
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual(expected.KeySchema);
    expect(Table?.AttributeDefinitions).toEqual(expected.AttributeDefinitions);
  });

  describe("TTL sweeper", () => {
    const put = (pk: string, expiresAt: unknown) =>
      stack.clients.dynamo.send(
        new PutCommand({
          TableName: stack.tableName,
          Item: { pk, sk: "x", ...(expiresAt === undefined ? {} : { expires_at: expiresAt }) },
        }),
      );
    const exists = async (pk: string) =>
      (
        await stack.clients.dynamo.send(
          new GetCommand({ TableName: stack.tableName, Key: { pk, sk: "x" }, ConsistentRead: true }),
        )
      ).Item !== undefined;

    it("deletes items whose expires_at has passed on the stack's clock, and only those", async () => {
      const nowSeconds = Math.floor(stack.clock.now() / 1000);
      await put("ttl#soon", nowSeconds + 60);
      await put("ttl#later", nowSeconds + 3600);
      await put("ttl#none", undefined);
      await put("ttl#text", "yesterday");

      expect(await stack.sweepExpired()).toBe(0);
      expect(await exists("ttl#soon")).toBe(true);

      stack.clock.advance(61_000);
      expect(await stack.sweepExpired()).toBe(1);
      expect(await exists("ttl#soon")).toBe(false);
      expect(await exists("ttl#later")).toBe(true);
      expect(await exists("ttl#none")).toBe(true);
      expect(await exists("ttl#text")).toBe(true);

      stack.clock.advance(3600_000);
      expect(await stack.sweepExpired()).toBe(1);
      expect(await exists("ttl#later")).toBe(false);
    });

    it("sweeps across scan pages", async () => {
      const expired = Math.floor(stack.clock.now() / 1000) - 1;
      const big = "x".repeat(300_000);
      for (let i = 0; i < 6; i++) {
        await stack.clients.dynamo.send(
          new PutCommand({
            TableName: stack.tableName,
            Item: { pk: `page#${i}`, sk: "x", expires_at: expired, big },
          }),
        );
      }
      expect(await stack.sweepExpired()).toBe(6);
      const { Items } = await stack.clients.dynamo.send(
        new ScanCommand({
          TableName: stack.tableName,
          FilterExpression: "begins_with(pk, :p)",
          ExpressionAttributeValues: { ":p": "page#" },
        }),
      );
      expect(Items).toEqual([]);
    });

    it("runs on its own at the configured interval", async () => {
      const periodic = await startTestStack({ sweepIntervalMs: 10, clock: stack.clock });
      try {
        const pk = keys.trace("periodic");
        await periodic.clients.dynamo.send(
          new PutCommand({
            TableName: periodic.tableName,
            Item: { pk, sk: "x", expires_at: Math.floor(stack.clock.now() / 1000) - 1 },
          }),
        );
        for (;;) {
          const { Item } = await periodic.clients.dynamo.send(
            new GetCommand({ TableName: periodic.tableName, Key: { pk, sk: "x" }, ConsistentRead: true }),
          );
          if (!Item) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await periodic.stop();
      }
    });
  });
});

describe("DynamoDB with a data directory", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "trace-stream-local-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("keeps the table and its items across a restart", async () => {
    const first = await startTestStack({ dataDir });
    try {
      await first.clients.dynamo.send(
        new PutCommand({ TableName: first.tableName, Item: { pk: "TRACE#kept", sk: "EVT#0000000000" } }),
      );
    } finally {
      await first.stop();
    }
    const second = await startTestStack({ dataDir });
    try {
      const { Item } = await second.clients.dynamo.send(
        new GetCommand({ TableName: second.tableName, Key: { pk: "TRACE#kept", sk: "EVT#0000000000" } }),
      );
      expect(Item).toEqual({ pk: "TRACE#kept", sk: "EVT#0000000000" });
    } finally {
      await second.stop();
    }
  });

  it("refuses a second stack on a data directory in use, with a message that says so", async () => {
    const first = await startTestStack({ dataDir });
    try {
      await expect(startTestStack({ dataDir })).rejects.toThrow(/is in use by another local stack/);
    } finally {
      await first.stop();
    }
  });
});

describe("DynamoDB in a process of its own", () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const start = (lines: string[]) =>
    startDynamoDb({
      host: "127.0.0.1",
      port: 0,
      tableName: "trace-stream-process",
      region: "us-east-1",
      log: createLogger("debug", (_, line) => lines.push(line)),
    });
  const get = (dynamo: LocalDynamoDb) =>
    dynamo.documentClient.send(
      new GetCommand({ TableName: dynamo.tableName, Key: { pk: "TRACE#x", sk: "EVT#0000000000" } }),
    );

  it("runs dynalite in a child process that close() stops", async () => {
    const dynamo = await start([]);
    expect(dynamo.pid).not.toBe(process.pid);
    expect(alive(dynamo.pid)).toBe(true);
    expect((await get(dynamo)).Item).toBeUndefined();
    await dynamo.close();
    expect(alive(dynamo.pid)).toBe(false);
  });

  it("reports a dynalite that dies, and DynamoDB calls then fail as in an outage instead of hanging", async () => {
    const lines: string[] = [];
    const dynamo = await start(lines);
    try {
      process.kill(dynamo.pid, "SIGKILL");
      while (!lines.some((line) => line.includes("exited unexpectedly"))) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(lines.find((line) => line.includes("exited unexpectedly"))).toMatch(
        /dynalite \(pid \d+\) exited unexpectedly \(SIGKILL\); DynamoDB calls fail until the local stack is restarted/,
      );
      await expect(get(dynamo)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await dynamo.close();
    }
  });

  it("ends when the stack's process is killed with kill -9, and a new stack can open the data", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "trace-stream-orphan-"));
    const ports = ["--websocket-port", "0", "--eventbridge-port", "0", "--dynamodb-port", "0"];
    const runs: CliRun[] = [];
    try {
      const first = startCli(["dev", "--stack-only", "--data-dir", dataDir, ...ports]);
      runs.push(first);
      await first.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
      const [owner, child] = (await readFile(join(dataDir, "trace-stream-local.lock"), "utf8"))
        .split(" ")
        .map(Number);
      expect(owner).toBe(first.child.pid);
      expect(child !== undefined && alive(child)).toBe(true);

      first.child.kill("SIGKILL");
      await first.done;
      while (child !== undefined && alive(child)) await new Promise((resolve) => setTimeout(resolve, 10));

      const second = startCli(["dev", "--stack-only", "--data-dir", dataDir, ...ports]);
      runs.push(second);
      await second.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
      second.child.kill("SIGINT");
      expect((await second.done).code).toBe(0);
    } finally {
      for (const run of runs) run.child.kill("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
