/**
 * What a handler takes besides its environment. On Lambda it is empty; the local stack passes its
 * clock, so tests that move time move it for the handlers too (subscription and event TTLs, the
 * emitter's connect grace window).
 */
export interface HandlerRuntime {
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}
