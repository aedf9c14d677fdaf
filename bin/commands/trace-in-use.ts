import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { dynamoTraceStore } from "../../lambdas/shared/trace-store.js";
import type { Environment } from "./command.js";
import { networkCodeOf } from "./errors.js";
import { ENV_VARS, LOCAL, type Target } from "./settings.js";

/** Whether a trace id already has stored events, as far as the CLI can tell. */
export type TraceUse =
  | { readonly kind: "unused" }
  | { readonly kind: "used"; readonly highestSeq: number }
  | { readonly kind: "unknown"; readonly reason: string };

/**
 * Asks the table the CLI knows (the local stack's, or TRACE_STREAM_TABLE and
 * TRACE_STREAM_DYNAMODB_ENDPOINT) for the trace's highest stored seq. Never throws: a check that
 * cannot be made says why, and the caller decides what to do with that.
 */
export async function traceUse(
  traceId: string,
  target: Target,
  env: Environment,
  region: string | undefined,
): Promise<TraceUse> {
  const tableName = env[ENV_VARS.table] ?? (target === "local" ? LOCAL.table : undefined);
  if (tableName === undefined) {
    return { kind: "unknown", reason: `no table to ask: set ${ENV_VARS.table} (stack output TableName)` };
  }
  const endpoint =
    env[ENV_VARS.dynamodbEndpoint] ?? (target === "local" ? LOCAL.dynamodbEndpoint : undefined);
  let dynamo: DynamoDBClient | undefined;
  try {
    dynamo = new DynamoDBClient({
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(region === undefined ? {} : { region }),
      ...(target === "local" ? { credentials: { ...LOCAL.credentials } } : {}),
      // A check, not the work: it must not hold the command up.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
    });
    const store = dynamoTraceStore(DynamoDBDocumentClient.from(dynamo), tableName);
    const highestSeq = await store.highestSeq(traceId);
    return highestSeq < 0 ? { kind: "unused" } : { kind: "used", highestSeq };
  } catch (error) {
    const cause = networkCodeOf(error) ?? (error instanceof Error ? error.name : String(error));
    return { kind: "unknown", reason: `table ${tableName} at ${endpoint ?? "AWS"}: ${cause}` };
  } finally {
    dynamo?.destroy();
  }
}
