import { Worker } from "node:worker_threads";

/**
 * Starts a bench worker thread from its TypeScript source. The bench runs through tsx, whose
 * loader Node 20 does not hand on to a worker thread; the worker registers it first, as
 * bin/trace-stream.js does for the CLI.
 */
export function startBenchWorker(entry: URL, workerData?: unknown): Worker {
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const boot = `import(${tsx}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}
