import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** What DynamoDB answered, summed over the commands a piece of code sent. */
export interface DynamoUsage {
  /** Requests sent (a paginated Query or Scan counts one per page). */
  requests: number;
  /** Items DynamoDB read: ScannedCount of Query/Scan (before any filter), 1 per GetItem hit. */
  itemsRead: number;
  /** Read capacity units as DynamoDB reports them (consistent 4 KB = 1, eventual = 0.5). */
  readUnits: number;
  /** Write capacity units as DynamoDB reports them (1 KB = 1). */
  writeUnits: number;
}

const READS = new Set(["QueryCommand", "ScanCommand", "GetItemCommand", "BatchGetItemCommand"]);

type Capacity = { CapacityUnits?: number } | undefined;

function capacityOf(consumed: Capacity | Capacity[]): number {
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce((sum, entry) => sum + (entry?.CapacityUnits ?? 0), 0);
}

export function emptyUsage(): DynamoUsage {
  return { requests: 0, itemsRead: 0, readUnits: 0, writeUnits: 0 };
}

export function usageSince(now: DynamoUsage, before: DynamoUsage): DynamoUsage {
  return {
    requests: now.requests - before.requests,
    itemsRead: now.itemsRead - before.itemsRead,
    readUnits: now.readUnits - before.readUnits,
    writeUnits: now.writeUnits - before.writeUnits,
  };
}

/**
 * Counts what every command sent through `client` cost, from DynamoDB's own answers: it asks for
 * `ReturnConsumedCapacity: TOTAL` on each request (dynalite computes it as DynamoDB does) and reads
 * `ScannedCount`. Attach it to the client a store or a baseline uses; read `usage` around a call.
 */
export class DynamoMeter {
  readonly usage: DynamoUsage = emptyUsage();

  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = "TOTAL";
        const result = await next(args);
        this.record(context.commandName ?? "", result.output as unknown as Record<string, unknown>);
        return result;
      },
      { step: "initialize", name: "benchDynamoMeter" },
    );
  }

  snapshot(): DynamoUsage {
    return { ...this.usage };
  }

  private record(command: string, output: Record<string, unknown>): void {
    this.usage.requests++;
    const units = capacityOf(output.ConsumedCapacity as Capacity | Capacity[]);
    if (READS.has(command)) {
      this.usage.readUnits += units;
      if (typeof output.ScannedCount === "number") this.usage.itemsRead += output.ScannedCount;
      else if (output.Item !== undefined) this.usage.itemsRead += 1;
    } else {
      this.usage.writeUnits += units;
    }
  }
}
