/**
 * What a handler takes besides its environment. On Lambda it is empty; the local stack passes its
 * clock, so tests that move time move it for the handlers too (subscription and event TTLs, the
 * emitter's connect grace window), and its execution environment's stop signal.
 */
export interface HandlerRuntime {
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /**
   * Aborted when this execution environment is stopped (locally, after a timed-out invocation;
   * on Lambda the process is stopped instead and the signal never fires). Clients pass it on, so a
   * timed-out invocation posts and writes nothing more while its retry runs.
   */
  readonly signal?: AbortSignal;
}
