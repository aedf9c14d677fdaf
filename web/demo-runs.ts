/**
 * Simulated runs started from the viewer's "Run demo" button: the CLI's `trace-stream demo` run
 * (bin/commands/demo-run.ts), published through the producer SDK to the local stack's bus.
 */
import { randomUUID } from "node:crypto";
import { isInterrupted, runDemo } from "../bin/commands/demo-run.js";
import { createTrace } from "../client/producer.js";

export interface DemoTarget {
  /** EventBridge endpoint of the local stack. */
  readonly eventBridge: string;
  readonly busName: string;
  readonly source: string;
}

export interface DemoRuns {
  /** Starts a run in the background; resolves with its trace id at once. */
  start(): string;
  /** Interrupts every run still going (each ends with plan_failed) and waits for their delivery. */
  close(): Promise<void>;
}

export interface DemoRunsOptions {
  readonly target: DemoTarget;
  /** 1 is human pace (about 20 s); tests go faster. @default 1 */
  readonly speed?: number;
  /** Told about runs that could not deliver their events. */
  readonly log?: (message: string) => void;
}

export function createDemoRuns({ target, speed = 1, log = () => {} }: DemoRunsOptions): DemoRuns {
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();

  return {
    start() {
      if (stopping.signal.aborted) throw new Error("the viewer server is shutting down");
      const traceId = `demo-${randomUUID()}`;
      const failed = new AbortController();
      const trace = createTrace({
        traceId,
        endpoint: target.eventBridge,
        busName: target.busName,
        source: target.source,
        onDeliveryError: () => failed.abort(),
      });
      const run = (async () => {
        try {
          await runDemo(
            trace,
            { speed, signal: AbortSignal.any([stopping.signal, failed.signal]) },
            () => {},
          );
        } catch (error) {
          if (!isInterrupted(error)) throw error;
        }
        if (!trace.ended && !failed.signal.aborted) {
          // Viewers stop at a terminal event; without one they would wait for this run forever.
          trace.fail(Object.assign(new Error("the demo was interrupted"), { name: "Interrupted" }));
        }
        await trace.close();
      })()
        .catch((error: unknown) =>
          log(`demo ${traceId}: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => running.delete(run));
      running.add(run);
      return traceId;
    },
    async close() {
      stopping.abort();
      await Promise.all(running);
    },
  };
}
