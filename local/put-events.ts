import { randomUUID } from "node:crypto";
import { MAX_PUT_EVENTS_BYTES, MAX_PUT_EVENTS_ENTRIES, utf8Bytes } from "../protocol/limits.js";
import { AwsServiceError } from "./aws-error.js";

/** One entry of a PutEvents request, as the SDKs and the AWS CLI send it (AWS JSON 1.1). */
export interface PutEventsRequestEntry {
  /** Epoch seconds (the SDKs' encoding) or an RFC 3339 string. */
  readonly Time?: number | string;
  readonly Source?: string;
  readonly Resources?: readonly string[];
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  readonly TraceHeader?: string;
}

/** The event a rule target receives. */
export interface EventBridgeEnvelope {
  readonly version: "0";
  readonly id: string;
  readonly "detail-type": string;
  readonly source: string;
  readonly account: string;
  /** RFC 3339 in UTC with second precision, as EventBridge writes it. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface BusContext {
  /** The custom bus that exists locally; `default` exists too, as in every account. */
  readonly busName: string;
  readonly region: string;
  readonly account: string;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly newId?: () => string;
}

/** An accepted entry and the bus it was put on (`default` or the custom bus). */
export interface AcceptedEntry {
  readonly busName: string;
  readonly envelope: EventBridgeEnvelope;
}

/**
 * Entry size as EventBridge computes it for the 256 KB request limit: 14 bytes for `Time` when
 * given, plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each of `Resources`.
 */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  size += utf8Bytes(entry.Source ?? "") + utf8Bytes(entry.DetailType ?? "") + utf8Bytes(entry.Detail ?? "");
  for (const resource of entry.Resources ?? []) size += utf8Bytes(resource);
  return size;
}

const STRING_FIELDS = ["Source", "DetailType", "Detail", "EventBusName", "TraceHeader"] as const;

/**
 * Checks the request as a whole: the entry list exists, has 1–10 entries of the right types, and
 * its total size is within 256 KB. Throws `AwsServiceError` (400) as the service does.
 */
export function readPutEventsRequest(body: unknown): PutEventsRequestEntry[] {
  const entries =
    typeof body === "object" && body !== null ? (body as { Entries?: unknown }).Entries : undefined;
  if (entries === undefined || entries === null) {
    throw validation("Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(entries)) throw serialization("Entries must be a list of PutEventsRequestEntry");
  if (entries.length < 1) {
    throw validation(
      "Value '[]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  }
  if (entries.length > MAX_PUT_EVENTS_ENTRIES) {
    throw validation(
      `Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`,
    );
  }
  entries.forEach(checkEntryTypes);
  const total = (entries as PutEventsRequestEntry[]).reduce(
    (sum, entry) => sum + putEventsEntrySize(entry),
    0,
  );
  if (total > MAX_PUT_EVENTS_BYTES) {
    throw new AwsServiceError(
      "ValidationException",
      "Total size of the entries in the request is over the limit.",
    );
  }
  return entries as PutEventsRequestEntry[];
}

function checkEntryTypes(entry: unknown, index: number): void {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw serialization(`Entries[${index}] must be an object`);
  }
  const record = entry as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (record[field] !== undefined && typeof record[field] !== "string") {
      throw serialization(`Entries[${index}].${field} must be a string`);
    }
  }
  const resources = record.Resources;
  if (
    resources !== undefined &&
    (!Array.isArray(resources) || resources.some((r) => typeof r !== "string"))
  ) {
    throw serialization(`Entries[${index}].Resources must be a list of strings`);
  }
  const time = record.Time;
  if (time !== undefined && typeof time !== "number" && typeof time !== "string") {
    throw serialization(`Entries[${index}].Time must be a timestamp`);
  }
}

/**
 * Validates one entry as PutEvents does and builds its envelope, or returns the per-entry error
 * (`InvalidArgument`, `MalformedDetail`, `ResourceNotFoundException`) that goes into `Entries`.
 */
export function acceptPutEventsEntry(
  entry: PutEventsRequestEntry,
  context: BusContext,
): AcceptedEntry | { ErrorCode: string; ErrorMessage: string } {
  for (const field of ["Source", "DetailType", "Detail"] as const) {
    if (!entry[field]) {
      return {
        ErrorCode: "InvalidArgument",
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  const detail = parseDetail(entry.Detail as string);
  if (detail === undefined) return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
  const busName = resolveBus(entry.EventBusName, context);
  if (busName === undefined) {
    return {
      ErrorCode: "ResourceNotFoundException",
      ErrorMessage: `Event bus ${entry.EventBusName} does not exist.`,
    };
  }
  const at = entry.Time === undefined ? context.now() : timeOf(entry.Time);
  if (at === undefined) {
    return {
      ErrorCode: "InvalidArgument",
      ErrorMessage: "Parameter Time is not valid. Reason: Time is not a timestamp.",
    };
  }
  return {
    busName,
    envelope: {
      version: "0",
      id: (context.newId ?? randomUUID)(),
      "detail-type": entry.DetailType as string,
      source: entry.Source as string,
      account: context.account,
      time: secondPrecision(at),
      region: context.region,
      resources: [...(entry.Resources ?? [])],
      detail,
    },
  };
}

/** Detail must be a JSON object; strings, arrays and broken JSON are `MalformedDetail`. */
function parseDetail(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The bus an entry names: absent or `default` is the default bus; a name or ARN of ours is ours. */
function resolveBus(name: string | undefined, context: BusContext): string | undefined {
  const arnPrefix = `arn:aws:events:${context.region}:${context.account}:event-bus/`;
  const bare = name?.startsWith(arnPrefix) ? name.slice(arnPrefix.length) : name;
  if (bare === undefined || bare === "" || bare === "default") return "default";
  return bare === context.busName ? bare : undefined;
}

function timeOf(value: number | string): number | undefined {
  const ms = typeof value === "number" ? value * 1000 : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function secondPrecision(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

function validation(detail: string): AwsServiceError {
  return new AwsServiceError("ValidationException", `1 validation error detected: ${detail}`);
}

function serialization(message: string): AwsServiceError {
  return new AwsServiceError("SerializationException", message);
}
