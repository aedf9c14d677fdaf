import type { DeliveryFaults } from "./delivery-faults.js";
import { type EventPattern, matchesEventPattern } from "./event-pattern.js";
import { describeError, type LocalLogger } from "./log.js";
import type { EventBridgeEnvelope } from "./put-events.js";

/** How the local bus retries a failed target invocation (EventBridge's target RetryPolicy). */
export interface RetryPolicy {
  /** Retries after the first attempt (MaximumRetryAttempts). */
  readonly retryAttempts: number;
  /** An event older than this is not retried again (MaximumEventAgeInSeconds). */
  readonly maxEventAgeSeconds: number;
  /** Delay before the first retry; it doubles each retry (with jitter) up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** A dead-letter message as EventBridge writes it: the event as body, the reason as attributes. */
export interface DeadLetterMessage {
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface BusTarget {
  readonly id: string;
  readonly arn: string;
  /** Resolves when the target accepted the event; rejects to ask for a retry. */
  readonly invoke: (envelope: EventBridgeEnvelope) => Promise<unknown>;
}

export interface BusRule {
  readonly name: string;
  readonly arn: string;
  readonly pattern: EventPattern;
  readonly target: BusTarget;
}

export interface LocalEventBusOptions {
  readonly name: string;
  readonly rule: BusRule;
  readonly retry: RetryPolicy;
  readonly faults: DeliveryFaults;
  readonly deadLetter: (message: DeadLetterMessage) => void;
  /** Epoch milliseconds; event age is measured on this clock. */
  readonly now: () => number;
  readonly log: LocalLogger;
  readonly random?: () => number;
}

interface Delivery {
  readonly envelope: EventBridgeEnvelope;
  readonly firstAttemptAt: number;
  retries: number;
}

/**
 * The custom bus with its one rule and target. `publish` returns at once; delivery is
 * asynchronous, concurrent (so not ordered, as on AWS), retried with exponential backoff and
 * dead-lettered once the retry policy is exhausted.
 */
export class LocalEventBus {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private held: Delivery[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: LocalEventBusOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** Routes an accepted event: to the rule's target when it matches, nowhere otherwise. */
  publish(envelope: EventBridgeEnvelope): boolean {
    const { rule, faults, log } = this.options;
    if (this.closed) return false;
    if (!matchesEventPattern(rule.pattern, envelope)) {
      log.debug(`event ${envelope.id} (${envelope.source} / ${envelope["detail-type"]}) matched no rule`);
      return false;
    }
    const copies = faults.copies();
    if (copies > 1) log.debug(`fault: delivering event ${envelope.id} ${copies} times`);
    for (let i = 0; i < copies; i++) {
      this.enqueue({ envelope, firstAttemptAt: this.options.now(), retries: 0 });
    }
    return true;
  }

  /** Resolves once nothing is held, waiting for a retry, or being delivered. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivering: pending retries and held deliveries are dropped, in-flight ones finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.timers.size + this.held.length;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.held = [];
    if (dropped > 0) this.options.log.warn(`stopped with ${dropped} deliveries pending; they are dropped`);
    await Promise.allSettled([...this.inFlight]);
    this.notifyIdle();
  }

  private enqueue(delivery: Delivery): void {
    const { faults } = this.options;
    if (faults.reorderWindow <= 1 && this.held.length === 0) {
      this.schedule(delivery, 0);
      return;
    }
    this.held.push(delivery);
    if (this.held.length >= Math.max(faults.reorderWindow, 1)) this.releaseHeld();
    else if (!this.holdTimer) {
      this.holdTimer = setTimeout(() => this.releaseHeld(), faults.reorderMaxHoldMs);
    }
  }

  private releaseHeld(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const batch = this.options.faults.shuffle(this.held);
    this.held = [];
    if (batch.length > 1) this.options.log.debug(`fault: releasing ${batch.length} held deliveries shuffled`);
    for (const delivery of batch) this.schedule(delivery, 0);
    this.notifyIdle();
  }

  private schedule(delivery: Delivery, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const attempt = this.attempt(delivery);
      this.inFlight.add(attempt);
      void attempt.finally(() => {
        this.inFlight.delete(attempt);
        this.notifyIdle();
      });
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { rule, faults, log } = this.options;
    try {
      if (faults.failThisInvocation()) {
        throw Object.assign(new Error("injected fault: target unreachable"), { name: "InjectedFault" });
      }
      await rule.target.invoke(delivery.envelope);
    } catch (error) {
      this.failed(delivery, error);
      return;
    }
    if (delivery.retries > 0)
      log.debug(`event ${delivery.envelope.id} delivered after ${delivery.retries} retries`);
  }

  private failed(delivery: Delivery, error: unknown): void {
    const { retry, log } = this.options;
    const ageSeconds = (this.options.now() - delivery.firstAttemptAt) / 1000;
    const exhausted =
      delivery.retries >= retry.retryAttempts
        ? "MaximumRetryAttempts"
        : ageSeconds >= retry.maxEventAgeSeconds
          ? "MaximumEventAgeInSeconds"
          : undefined;
    if (this.closed) return;
    if (exhausted === undefined) {
      delivery.retries++;
      const delay = this.backoff(delivery.retries);
      log.debug(
        `delivery of event ${delivery.envelope.id} failed (${describeError(error)}); retry ${delivery.retries} in ${delay} ms`,
      );
      this.schedule(delivery, delay);
      return;
    }
    log.warn(
      `event ${delivery.envelope.id} dead-lettered after ${delivery.retries} retries (${exhausted}): ${describeError(error)}`,
    );
    this.options.deadLetter({
      body: JSON.stringify(delivery.envelope),
      attributes: {
        ERROR_CODE: "SDK_CLIENT_ERROR",
        ERROR_MESSAGE: describeError(error),
        EXHAUSTED_RETRY_CONDITION: exhausted,
        RETRY_ATTEMPTS: String(delivery.retries),
        RULE_ARN: this.options.rule.arn,
        TARGET_ARN: this.options.rule.target.arn,
      },
    });
  }

  /** Exponential backoff with equal jitter: half the delay fixed, half random. */
  private backoff(retry: number): number {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
    const random = this.options.random ?? Math.random;
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }

  private isIdle(): boolean {
    return this.timers.size === 0 && this.inFlight.size === 0 && this.held.length === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
