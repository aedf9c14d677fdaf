import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { MAX_PUT_EVENTS_BYTES, MAX_PUT_EVENTS_ENTRIES, utf8Bytes } from "../protocol/limits.js";
import type { TraceEvent } from "../protocol/trace-event.js";

/** Where entries go: the bus and the `Source` the emitter's rule matches. */
export interface EntryTarget {
  readonly busName: string;
  readonly source: string;
}

/** The PutEvents entry for one accepted event: DetailType is the event name, Detail its JSON. */
export function toPutEventsEntry(event: TraceEvent, target: EntryTarget): PutEventsRequestEntry {
  return {
    Source: target.source,
    DetailType: event.event,
    Detail: JSON.stringify(event),
    EventBusName: target.busName,
  };
}

/**
 * The size EventBridge charges an entry against the PutEvents limit: the UTF-8 bytes of Source,
 * DetailType, Detail and each Resources entry, plus 14 bytes when Time is set. EventBusName does
 * not count. (AWS EventBridge user guide, "Calculating PutEvents event entry size".)
 */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += utf8Bytes(entry.Source ?? "");
  size += utf8Bytes(entry.DetailType ?? "");
  size += utf8Bytes(entry.Detail ?? "");
  for (const resource of entry.Resources ?? []) size += utf8Bytes(resource);
  return size;
}

/** The sum of entry sizes in one request must stay below 256 KiB. */
export const MAX_BATCH_BYTES = MAX_PUT_EVENTS_BYTES - 1;

/**
 * Takes the longest prefix of `queue` that fits one PutEvents request: at most 10 entries and a
 * total size below 256 KiB. The first item is always taken (a single entry is at most 96 KiB plus
 * its names, far below the limit).
 */
export function takeBatch<Item extends { readonly size: number }>(queue: Item[]): Item[] {
  let bytes = 0;
  let count = 0;
  for (const item of queue) {
    if (count === MAX_PUT_EVENTS_ENTRIES) break;
    if (count > 0 && bytes + item.size > MAX_BATCH_BYTES) break;
    bytes += item.size;
    count++;
  }
  return queue.splice(0, count);
}
