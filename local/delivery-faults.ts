/**
 * Knobs that make the local EventBridge misbehave the way the real one may: deliver an event
 * twice, deliver a burst out of order, or fail a target invocation. Mutable at runtime; each
 * knob applies to deliveries that start after it changes.
 */
export interface DeliveryFaultSettings {
  /** Probability (0–1) that a matched event is delivered twice. */
  duplicateProbability: number;
  /** The next N matched events are each delivered twice (counts down to 0). */
  duplicateNext: number;
  /**
   * Hold deliveries until this many wait, then release them shuffled. 0 or 1 turns it off
   * (releasing anything held).
   */
  reorderWindow: number;
  /** A held delivery waits at most this long for its window to fill, then is released anyway. */
  reorderMaxHoldMs: number;
  /** The next N target invocations fail as if the target were unreachable (counts down to 0). */
  failNext: number;
}

export const NO_DELIVERY_FAULTS: Readonly<DeliveryFaultSettings> = {
  duplicateProbability: 0,
  duplicateNext: 0,
  reorderWindow: 0,
  reorderMaxHoldMs: 200,
  failNext: 0,
};

export class DeliveryFaults implements DeliveryFaultSettings {
  duplicateProbability = NO_DELIVERY_FAULTS.duplicateProbability;
  duplicateNext = NO_DELIVERY_FAULTS.duplicateNext;
  reorderWindow = NO_DELIVERY_FAULTS.reorderWindow;
  reorderMaxHoldMs = NO_DELIVERY_FAULTS.reorderMaxHoldMs;
  failNext = NO_DELIVERY_FAULTS.failNext;

  private readonly random: () => number;
  constructor(initial: Partial<DeliveryFaultSettings> = {}, random: () => number = Math.random) {
    this.random = random;
    Object.assign(this, initial);
  }

  /** Back to a well-behaved bus. */
  reset(): void {
    Object.assign(this, NO_DELIVERY_FAULTS);
  }

  /** How many times to deliver the next matched event (1 or 2); consumes `duplicateNext`. */
  copies(): number {
    if (this.duplicateNext > 0) {
      this.duplicateNext--;
      return 2;
    }
    return this.random() < this.duplicateProbability ? 2 : 1;
  }

  /** True when this invocation should fail; consumes `failNext`. */
  failThisInvocation(): boolean {
    if (this.failNext <= 0) return false;
    this.failNext--;
    return true;
  }

  /** Fisher–Yates with the injected random source. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}
