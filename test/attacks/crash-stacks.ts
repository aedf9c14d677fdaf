/**
 * What the kill -9 tests share: local stacks started as the CLI (`dev --stack-only --data-dir`) on
 * free ports, the endpoints their banner prints, and the seqs a trace has stored.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { LOCAL_CREDENTIALS } from "../../local/dynamodb.js";
import { type CliRun, startCli } from "../cli/run-cli.js";

const FREE_PORTS = ["--websocket-port", "0", "--eventbridge-port", "0", "--dynamodb-port", "0"];
export const region = "us-east-1";
export const credentials = LOCAL_CREDENTIALS;

export interface CrashStack {
  readonly run: CliRun;
  readonly banner: string;
  readonly eventBridge: string;
  readonly dynamodb: string;
  readonly webSocket: string;
  readonly table: string;
}

/** Stacks started by one test file; `killAll` ends those still running. */
export function crashStacks() {
  const runs: CliRun[] = [];
  return {
    async start(dataDir: string, extraArgs: readonly string[] = []): Promise<CrashStack> {
      const run = startCli(["dev", "--stack-only", ...extraArgs, "--data-dir", dataDir, ...FREE_PORTS]);
      runs.push(run);
      await run.waitFor(({ stdout }) => stdout.includes("Press Ctrl+C to stop."), 60_000);
      const banner = run.stdout();
      return {
        run,
        banner,
        eventBridge: /EventBridge +(http:\/\/\S+)/.exec(banner)?.[1] ?? "",
        dynamodb: /DynamoDB +(http:\/\/\S+)/.exec(banner)?.[1] ?? "",
        webSocket: /WebSocket API +(ws:\/\/\S+)/.exec(banner)?.[1] ?? "",
        table: /table "([^"]+)"/.exec(banner)?.[1] ?? "",
      };
    },
    killAll(): void {
      for (const run of runs) run.child.kill("SIGKILL");
    },
  };
}

/** The seqs stored for a trace, read consistently. */
export async function storedSeqs(endpoint: string, table: string, traceId: string): Promise<Set<number>> {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region, credentials }));
  const seqs = new Set<number>();
  try {
    for await (const page of paginateQuery(
      { client },
      {
        TableName: table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :evt)",
        ExpressionAttributeValues: { ":pk": `TRACE#${traceId}`, ":evt": "EVT#" },
        ProjectionExpression: "seq",
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) seqs.add(item.seq as number);
    }
  } finally {
    client.destroy();
  }
  return seqs;
}
