import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from "@aws-sdk/client-eventbridge";
import { vi } from "vitest";

/**
 * Decides the answer to one PutEvents call: return result entries (per request entry) or throw;
 * or return a promise, to answer late (`signal` is the request's abort signal).
 */
export type Responder = (
  entries: PutEventsRequestEntry[],
  call: number,
  signal: AbortSignal | undefined,
) => PutEventsResultEntry[] | Promise<PutEventsResultEntry[]>;

export const accepted = (): PutEventsResultEntry => ({ EventId: crypto.randomUUID() });
export const failedWith = (code: string): PutEventsResultEntry => ({
  ErrorCode: code,
  ErrorMessage: `${code} (injected)`,
});

/**
 * A real EventBridgeClient whose `send` is stubbed: the SDK boundary, where tests inject the
 * partial failures and errors a real bus cannot produce on demand. Records every request.
 */
export function fakeEventBridge(respond: Responder = (entries) => entries.map(accepted)) {
  const client = new EventBridgeClient({
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const requests: PutEventsRequestEntry[][] = [];
  /** Entries that PutEvents accepted, in acceptance order. */
  const delivered: PutEventsRequestEntry[] = [];
  vi.spyOn(client, "send").mockImplementation(async (command: unknown, options?: unknown) => {
    if (!(command instanceof PutEventsCommand)) throw new Error("only PutEvents is expected");
    const entries = command.input.Entries ?? [];
    requests.push(entries);
    const signal = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
    const results = await respond(entries, requests.length, signal);
    results.forEach((result, index) => {
      const entry = entries[index];
      if (result.ErrorCode === undefined && entry !== undefined) delivered.push(entry);
    });
    const output: PutEventsCommandOutput = {
      $metadata: { httpStatusCode: 200 },
      Entries: results,
      FailedEntryCount: results.filter((result) => result.ErrorCode !== undefined).length,
    };
    return output;
  });
  const detailsOf = (entries: PutEventsRequestEntry[]) =>
    entries.map((entry) => JSON.parse(entry.Detail ?? "null") as { seq: number; [key: string]: unknown });
  return { client, requests, delivered, detailsOf };
}

/** An error shaped like the SDK's service and network errors. */
export function sdkError(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} (injected)`), { name, ...extra });
}
