import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  GoneException,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { keys, PARTITION_KEY, SORT_KEY } from "../../lib/table-design.js";
import type { Command } from "./command.js";
import { parseCommandArgs } from "./command.js";
import { CliError, ExitCode, networkCodeOf, UnreachableError } from "./errors.js";
import { painter, shouldColor } from "./event-format.js";
import {
  checkTraceId,
  checkUrl,
  ENV_VARS,
  LOCAL,
  regionOption,
  required,
  resolveTarget,
  resolveWebSocketUrl,
  setting,
  TARGET_HELP,
  targetOption,
} from "./settings.js";

const NAME = "connections";

const OPTIONS = {
  ...targetOption,
  ...regionOption,
  json: { type: "boolean", default: false },
  table: { type: "string" },
  "dynamodb-endpoint": { type: "string" },
  "connections-endpoint": { type: "string" },
  url: { type: "string" },
} as const;

/** One subscribed connection, with what API Gateway knows about it. */
export interface Watcher {
  readonly connection_id: string;
  readonly subscribed_at: string | undefined;
  readonly connected_at: string | undefined;
  readonly last_active_at: string | undefined;
  readonly source_ip: string | undefined;
  readonly user_agent: string | undefined;
}

interface Subscription {
  readonly connectionId: string;
  readonly subscribedAt: string | undefined;
}

/** The connections endpoint of a stage is its WebSocket URL over HTTP(S). */
function managementEndpointOf(webSocketUrl: string): string {
  const url = new URL(webSocketUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return url.href.replace(/\/$/, "");
}

function ago(iso: string | undefined, now: number): string {
  if (iso === undefined) return "-";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const span =
    seconds < 60
      ? `${seconds}s`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)}m`
        : `${Math.floor(seconds / 3600)}h`;
  return `${new Date(iso).toTimeString().slice(0, 8)} (${span} ago)`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

export const connectionsCommand: Command = {
  name: NAME,
  help: `Usage: trace-stream connections <traceId> [--json]

Lists the connections subscribed to a trace (the table's TRACE#id / CONN# items, read
consistently, as the emitter reads them) with what API Gateway knows of each (GetConnection):
connected since, last active, source IP, user agent. Subscriptions whose connection is gone are
reported as stale (the emitter prunes them on its next event, TTL otherwise).

Options:
  --json                 print {"trace_id","count","connections":[...],"stale":[...]}
  --table NAME           [${ENV_VARS.table}]  default (local) ${LOCAL.table}
  --dynamodb-endpoint URL   [${ENV_VARS.dynamodbEndpoint}]  default (local) ${LOCAL.dynamodbEndpoint}
  --connections-endpoint URL   the stage's @connections endpoint (stack output ManagementEndpoint)
                         [${ENV_VARS.connectionsEndpoint}]  default: the WebSocket URL over http(s)
  --url URL              WebSocket stage URL   [${ENV_VARS.url}]  default (local) ${LOCAL.url}
  --region REGION        [${ENV_VARS.region}]  default (local) ${LOCAL.region}
${TARGET_HELP}
  -h, --help             show this help`,

  async run(argv, context) {
    const { values, positionals } = parseCommandArgs(NAME, argv, OPTIONS, { max: 1 });
    const traceId = checkTraceId(positionals[0], "<traceId>", NAME);
    const target = resolveTarget(values, context.env, NAME);
    const local = target === "local";
    const tableName =
      setting(values, "table", context.env, ENV_VARS.table) ??
      (local ? LOCAL.table : required(undefined, "the table name", "table", ENV_VARS.table, NAME));
    const dynamoEndpoint =
      setting(values, "dynamodb-endpoint", context.env, ENV_VARS.dynamodbEndpoint) ??
      (local ? LOCAL.dynamodbEndpoint : undefined);
    if (dynamoEndpoint !== undefined)
      checkUrl(dynamoEndpoint, "dynamodb-endpoint", NAME, ["http:", "https:"]);
    const managementEndpoint = checkUrl(
      setting(values, "connections-endpoint", context.env, ENV_VARS.connectionsEndpoint) ??
        managementEndpointOf(resolveWebSocketUrl(values, context.env, NAME)),
      "connections-endpoint",
      NAME,
      ["http:", "https:"],
    );
    const region =
      setting(values, "region", context.env, ENV_VARS.region) ?? (local ? LOCAL.region : undefined);
    const common = {
      ...(region === undefined ? {} : { region }),
      ...(local ? { credentials: { ...LOCAL.credentials } } : {}),
      maxAttempts: 2,
    };

    const dynamo = new DynamoDBClient({
      ...common,
      ...(dynamoEndpoint === undefined ? {} : { endpoint: dynamoEndpoint }),
    });
    const documents = DynamoDBDocumentClient.from(dynamo);
    const management = new ApiGatewayManagementApiClient({ ...common, endpoint: managementEndpoint });
    try {
      const subscriptions = await readSubscriptions(documents, tableName, traceId).catch((error: unknown) => {
        if (networkCodeOf(error) !== undefined) {
          throw new UnreachableError(
            "DynamoDB",
            dynamoEndpoint ?? `the ${region ?? "default"} region`,
            error,
          );
        }
        if (error instanceof ResourceNotFoundException) {
          throw new CliError(
            `table ${tableName} does not exist (${dynamoEndpoint ?? "AWS"})`,
            ExitCode.failure,
            {
              hint: `pass --table or set ${ENV_VARS.table} (stack output TableName)`,
            },
          );
        }
        throw error;
      });
      const watchers: Watcher[] = [];
      const stale: string[] = [];
      for (const subscription of subscriptions) {
        const watcher = await describeConnection(management, subscription, managementEndpoint);
        if (watcher === undefined) stale.push(subscription.connectionId);
        else watchers.push(watcher);
      }

      if (values.json) {
        context.stdout.write(
          `${JSON.stringify({ trace_id: traceId, count: watchers.length, connections: watchers, stale })}\n`,
        );
        return ExitCode.ok;
      }
      const paint = painter(shouldColor(context.stdout, context.env));
      const count = watchers.length;
      context.stdout.write(
        `trace ${paint("bold", traceId)}: ${count === 0 ? "no clients watching" : `${count} client${count === 1 ? "" : "s"} watching`}\n`,
      );
      if (count > 0) {
        const now = Date.now();
        const rows = table([
          ["CONNECTION", "CONNECTED", "LAST ACTIVE", "SOURCE IP", "USER AGENT"],
          ...watchers.map((watcher) => [
            watcher.connection_id,
            ago(watcher.connected_at ?? watcher.subscribed_at, now),
            ago(watcher.last_active_at, now),
            watcher.source_ip ?? "-",
            watcher.user_agent ?? "-",
          ]),
        ]);
        context.stdout.write(
          `${rows.map((row, index) => `  ${index === 0 ? paint("dim", row) : row}`).join("\n")}\n`,
        );
      }
      if (stale.length > 0) {
        context.stdout.write(
          `${paint(
            "yellow",
            `${stale.length} stale subscription${stale.length === 1 ? "" : "s"} (connection gone; pruned on the next event or by TTL): ${stale.join(", ")}`,
          )}\n`,
        );
      }
      return ExitCode.ok;
    } finally {
      documents.destroy();
      dynamo.destroy();
      management.destroy();
    }
  },
};

async function readSubscriptions(
  documents: DynamoDBDocumentClient,
  tableName: string,
  traceId: string,
): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
        ExpressionAttributeValues: { ":pk": keys.trace(traceId), ":prefix": keys.connectionPrefix },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      subscriptions.push({
        connectionId: String(item[SORT_KEY]).slice(keys.connectionPrefix.length),
        subscribedAt: typeof item.connected_at === "string" ? item.connected_at : undefined,
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return subscriptions;
}

/** What API Gateway knows of a connection; undefined when it is gone (410). */
async function describeConnection(
  management: ApiGatewayManagementApiClient,
  subscription: Subscription,
  endpoint: string,
): Promise<Watcher | undefined> {
  try {
    const connection = await management.send(
      new GetConnectionCommand({ ConnectionId: subscription.connectionId }),
    );
    return {
      connection_id: subscription.connectionId,
      subscribed_at: subscription.subscribedAt,
      connected_at: connection.ConnectedAt?.toISOString(),
      last_active_at: connection.LastActiveAt?.toISOString(),
      source_ip: connection.Identity?.SourceIp,
      user_agent: connection.Identity?.UserAgent,
    };
  } catch (error) {
    if (error instanceof GoneException) return undefined;
    if (networkCodeOf(error) !== undefined)
      throw new UnreachableError("the @connections API", endpoint, error);
    throw error;
  }
}
