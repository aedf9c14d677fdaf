/** Source producers put on their entries unless configured otherwise; also the bus name. */
export const DEFAULT_EVENT_SOURCE = "trace-stream";

/**
 * The EventBridge rule pattern that routes trace events to the emitter: everything from the source.
 * It deliberately does not list detail types: a mistyped or newer event name must reach the
 * emitter, which dead-letters it with a reason, instead of matching no rule and vanishing. The
 * local EventBridge emulator matches with the same pattern.
 */
export function traceEventPattern(source: string = DEFAULT_EVENT_SOURCE) {
  return { source: [source] };
}

/** Retry policy of the rule's target (the local emulator applies the same numbers). */
export const EMITTER_TARGET_RETRY = { maxEventAgeSeconds: 60 * 60, retryAttempts: 8 } as const;
