/**
 * `npx tsx bench/coalesced-row.ts [--quick]`: only the fan-out modes' row (bench/coalesced-fan-out.ts)
 * and the cost of both modes for 1 and 10 viewers, printed as JSON; bench/results.json is left as
 * it is (the full run, `npm run bench`, includes this row).
 */

import { FAN_OUT_STREAM } from "../lib/fan-out-stream.js";
import { benchEvent } from "./bench-events.js";
import { startBenchStack } from "./bench-stack.js";
import { runCoalescedFanOut } from "./coalesced-fan-out.js";
import { ASSUMED_EVENTS_PER_SECOND_PER_VIEWER, costByFanOutMode, eventsPerBatch } from "./cost-model.js";
import { measurePerEventBytes } from "./per-event-bytes.js";

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const started = Date.now();
  const progress = (line: string) =>
    process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  const bench = await startBenchStack();
  try {
    const batch = eventsPerBatch(
      ASSUMED_EVENTS_PER_SECOND_PER_VIEWER,
      FAN_OUT_STREAM.maxBatchingWindowSeconds,
      FAN_OUT_STREAM.batchSize,
    );
    const rows = await runCoalescedFanOut(
      bench,
      { viewers: [1, 10], eventsPerBatch: batch, iterations: quick ? 3 : 10 },
      progress,
    );
    const perEvent = await measurePerEventBytes(bench);
    const eventBytes = Buffer.byteLength(JSON.stringify(benchEvent("bench-fan-out", 0)));
    const costs = rows.map((row) => costByFanOutMode(row, eventBytes, perEvent));
    const summary = costs.map((cost) => ({
      viewers: cost.viewers,
      directUsd: Number(cost.direct.totalUsd.toFixed(3)),
      coalescedUsd: Number(cost.coalesced.totalUsd.toFixed(3)),
    }));
    process.stdout.write(`${JSON.stringify({ rows, perEvent, summary, costs }, null, 2)}\n`);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
