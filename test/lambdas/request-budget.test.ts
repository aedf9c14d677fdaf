import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeRequestOn } from "../../lambdas/shared/trace-store.js";
import { keys, PARTITION_KEY, SORT_KEY } from "../../lib/table-design.js";
import { startTestTable, type TestTable } from "../helpers/dynalite.js";

/** The per-connection request budget (resume, listRuns): one conditional write per request. */
let table: TestTable;

beforeAll(async () => {
  table = await startTestTable("request-budget-test");
});

afterAll(async () => {
  await table?.close();
});

async function connectionItem(connectionId: string): Promise<Record<string, string>> {
  const key = { [PARTITION_KEY]: keys.connection(connectionId), [SORT_KEY]: "SUB" };
  await table.client.send(new PutCommand({ TableName: table.tableName, Item: key }));
  return key;
}

describe("takeRequestOn", () => {
  it("allows exactly the window's budget to requests that all find the window closed before one opens it", async () => {
    const key = await connectionItem("together=");
    const rate = { now: 1_000_000, windowMs: 10_000, perWindow: 20 };
    const requests = 25;
    // As concurrent invocations can interleave on AWS: every request's first write (counting in
    // the current window) is answered before any request opens the window. Only the order of the
    // answers is held; DynamoDB (dynalite) decides each write.
    const raw = new DynamoDBClient({
      endpoint: table.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    let counted = 0;
    let release: () => void = () => undefined;
    const allCounted = new Promise<void>((resolve) => {
      release = resolve;
    });
    raw.middlewareStack.add(
      (next, context) => async (args) => {
        const input = (args.input ?? {}) as { UpdateExpression?: string };
        if (context.commandName !== "UpdateItemCommand" || !input.UpdateExpression?.startsWith("ADD"))
          return next(args);
        try {
          return await next(args);
        } finally {
          if (++counted === requests) release();
          await allCounted;
        }
      },
      { step: "initialize", name: "holdFirstWrites" },
    );
    const client = DynamoDBDocumentClient.from(raw);
    try {
      const answers = await Promise.all(
        Array.from({ length: requests }, () => takeRequestOn(client, table.tableName, key, rate)),
      );
      expect(answers.filter((answer) => answer === "allowed")).toHaveLength(20);
      expect(answers.filter((answer) => answer !== "allowed")).toEqual(
        Array.from({ length: 5 }, () => ({ retryAfterMs: 10_000 })),
      );
    } finally {
      client.destroy();
    }
  });

  it("opens the next window once the stored one is over", async () => {
    const key = await connectionItem("later=");
    const rate = { now: 2_000_000, windowMs: 10_000, perWindow: 1 };
    expect(await takeRequestOn(table.client, table.tableName, key, rate)).toBe("allowed");
    expect(await takeRequestOn(table.client, table.tableName, key, { ...rate, now: 2_004_000 })).toEqual({
      retryAfterMs: 6_000,
    });
    expect(await takeRequestOn(table.client, table.tableName, key, { ...rate, now: 2_010_000 })).toBe(
      "allowed",
    );
  });
});
