import { redactString } from "../protocol/redact.js";
import type { DeliveryFaults } from "./delivery-faults.js";
import { type EventPattern, matchesEventPattern } from "./event-pattern.js";
import { describeError, type LocalLogger } from "./log.js";
import type { EventBridgeEnvelope } from "./put-events.js";
import { type Exhausted, RetryingDispatcher, type RetryPolicy } from "./retrying-dispatcher.js";
import { stringifyJson } from "./safe-json.js";

export type { RetryPolicy } from "./retrying-dispatcher.js";

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
  /** Called with an event's id once it went to the dead-letter queue. */
  readonly onDeadLettered?: (id: string) => void;
  /** Epoch milliseconds; event age is measured on this clock. */
  readonly now: () => number;
  readonly log: LocalLogger;
  readonly random?: () => number;
}

/** Raised by the `failNext` fault: the target could not be invoked at all. */
export class TargetUnreachableError extends Error {
  override readonly name = "TargetUnreachable";
}

/**
 * The custom bus with its one rule and target. `publish` returns at once; delivery is
 * asynchronous, concurrent (so not ordered, as on AWS), retried with exponential backoff when the
 * target cannot be invoked, and dead-lettered once the target's retry policy is exhausted.
 */
export class LocalEventBus {
  private readonly dispatcher: RetryingDispatcher<EventBridgeEnvelope>;
  private held: EventBridgeEnvelope[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private heldWaiters: Array<() => void> = [];
  private closed = false;

  private readonly options: LocalEventBusOptions;
  constructor(options: LocalEventBusOptions) {
    this.options = options;
    const { rule, faults } = options;
    this.dispatcher = new RetryingDispatcher<EventBridgeEnvelope>({
      attempt: async (envelope) => {
        if (faults.failThisInvocation()) {
          throw new TargetUnreachableError(`could not invoke ${rule.target.arn} (failNext fault)`);
        }
        await rule.target.invoke(envelope);
      },
      retry: options.retry,
      now: options.now,
      exhausted: (outcome) => this.deadLetter(outcome),
      describe: (envelope) => `delivery of event ${envelope.id}`,
      log: options.log,
      random: options.random,
    });
  }

  get name(): string {
    return this.options.name;
  }

  /** Whether the rule takes the event (publishing anything else goes nowhere). */
  routes(envelope: EventBridgeEnvelope): boolean {
    return matchesEventPattern(this.options.rule.pattern, envelope);
  }

  /** Routes an accepted event: to the rule's target when it matches, nowhere otherwise. */
  publish(envelope: EventBridgeEnvelope): boolean {
    const { faults, log } = this.options;
    if (this.closed) return false;
    if (!this.routes(envelope)) {
      // Source and detail-type are the sender's text: masked like everything else that is logged.
      log.debug(
        redactString(
          `event ${envelope.id} (${envelope.source} / ${envelope["detail-type"]}) matched no rule`,
        ),
      );
      return false;
    }
    const copies = faults.copies();
    if (copies > 1) log.debug(`fault: delivering event ${envelope.id} ${copies} times`);
    for (let i = 0; i < copies; i++) this.enqueue(envelope);
    return true;
  }

  /** Resolves once nothing is held, waiting for a retry, or being delivered. */
  async idle(): Promise<void> {
    while (this.held.length > 0) {
      await new Promise<void>((resolve) => this.heldWaiters.push(resolve));
    }
    await this.dispatcher.idle();
  }

  /** Stops delivering: pending retries and held deliveries are dropped, in-flight ones finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const dropped = this.held.length + (await this.dispatcher.close());
    this.held = [];
    this.wakeHeldWaiters();
    if (dropped > 0) this.options.log.warn(`stopped with ${dropped} deliveries pending; they are dropped`);
  }

  private enqueue(envelope: EventBridgeEnvelope): void {
    const { faults } = this.options;
    if (faults.reorderWindow <= 1 && this.held.length === 0) {
      this.dispatcher.submit(envelope);
      return;
    }
    this.held.push(envelope);
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
    for (const envelope of batch) this.dispatcher.submit(envelope);
    this.wakeHeldWaiters();
  }

  private wakeHeldWaiters(): void {
    const waiters = this.heldWaiters;
    this.heldWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private deadLetter({ item: envelope, error, condition, retries }: Exhausted<EventBridgeEnvelope>): void {
    this.options.log.warn(
      `event ${envelope.id} dead-lettered after ${retries} retries (${condition}): ${describeError(error)}`,
    );
    this.options.deadLetter({
      body: stringifyJson(envelope) ?? "null",
      attributes: {
        ERROR_CODE: "SDK_CLIENT_ERROR",
        ERROR_MESSAGE: describeError(error),
        EXHAUSTED_RETRY_CONDITION: condition,
        RETRY_ATTEMPTS: String(retries),
        RULE_ARN: this.options.rule.arn,
        TARGET_ARN: this.options.rule.target.arn,
      },
    });
    this.options.onDeadLettered?.(envelope.id);
  }
}
