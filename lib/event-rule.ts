import { EVENT_NAMES } from "../protocol/trace-event.js";

/** Source producers put on their entries unless configured otherwise; also the bus name. */
export const DEFAULT_EVENT_SOURCE = "trace-stream";

/**
 * The EventBridge rule pattern that routes trace events to the emitter: the source and the
 * twelve canonical detail types. The local EventBridge emulator matches with the same pattern.
 */
export function traceEventPattern(source: string = DEFAULT_EVENT_SOURCE) {
  return {
    source: [source],
    "detail-type": [...EVENT_NAMES],
  };
}

/** Retry policy of the rule's target (the local emulator applies the same numbers). */
export const EMITTER_TARGET_RETRY = { maxEventAgeSeconds: 60 * 60, retryAttempts: 8 } as const;
