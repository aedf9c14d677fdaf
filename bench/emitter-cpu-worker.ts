/**
 * Runs the emitter's handler, as lambdas/emitter/handler.ts composes it, alone in this process so
 * that `process.cpuUsage()` counts its CPU time and nothing else (the local stack it talks to runs
 * in the parent). The parent sends `{ env, envelopes }`; the reply has each invocation's CPU and
 * wall milliseconds.
 */
import { createHandler } from "../lambdas/emitter/handler.js";

interface Job {
  readonly env: Record<string, string>;
  readonly envelopes: readonly unknown[];
}

export interface InvocationSample {
  readonly cpuMs: number;
  readonly wallMs: number;
}

process.on("message", (job: Job) => {
  void (async () => {
    const handler = createHandler(job.env);
    const samples: InvocationSample[] = [];
    for (const envelope of job.envelopes) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await handler(envelope);
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      samples.push({ cpuMs: (used.user + used.system) / 1000, wallMs });
    }
    process.send?.(samples);
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
