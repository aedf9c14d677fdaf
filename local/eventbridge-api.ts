import { redactString } from "../protocol/redact.js";
import type { DeliveryJournal } from "./delivery-journal.js";
import type { LocalEventBus } from "./event-bus.js";
import type { LocalLogger } from "./log.js";
import {
  acceptPutEventsEntry,
  type BusContext,
  type EventBridgeEnvelope,
  type PutEventsResultEntry,
  readPutEventsRequest,
} from "./put-events.js";

export interface PutEventsResponse {
  readonly FailedEntryCount: number;
  readonly Entries: readonly PutEventsResultEntry[];
}

/**
 * PutEvents over the local custom bus. The `default` bus exists as in every account but has no
 * rule here, so events put on it are accepted and go nowhere (a warning says so). With a journal,
 * the events the rule takes are on disk before the call answers success.
 */
export function createPutEvents(
  context: BusContext,
  bus: LocalEventBus,
  log: LocalLogger,
  journal?: DeliveryJournal,
) {
  let warnedDefaultBus = false;
  return async function putEvents(input: unknown): Promise<PutEventsResponse> {
    const entries = readPutEventsRequest(input);
    const routed: EventBridgeEnvelope[] = [];
    const results = entries.map((entry): PutEventsResultEntry => {
      const outcome = acceptPutEventsEntry(entry, context);
      if (!("envelope" in outcome)) {
        // The message can quote the entry (its bus name), which is the sender's text.
        log.info(redactString(`PutEvents entry refused: ${outcome.ErrorCode}: ${outcome.ErrorMessage}`));
        return outcome;
      }
      if (outcome.busName === bus.name) {
        if (bus.routes(outcome.envelope)) routed.push(outcome.envelope);
      } else if (!warnedDefaultBus) {
        warnedDefaultBus = true;
        log.warn(
          `an event was put on the default bus, which has no rules; trace-stream listens on bus "${bus.name}" ` +
            `(set EventBusName: "${bus.name}")`,
        );
      }
      return { EventId: outcome.envelope.id };
    });
    await journal?.accept(routed);
    for (const envelope of routed) bus.publish(envelope);
    return { FailedEntryCount: results.filter((result) => "ErrorCode" in result).length, Entries: results };
  };
}
