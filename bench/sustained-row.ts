/**
 * One sustained row in a process of its own (forked by ./run.ts): a fresh local stack in the given
 * fan-out mode, the POST relay floor held just before, the row, the floor again just after. The
 * RSS it reports is this process and its dynalite, with the bench's client processes left out.
 */
import { startBenchStack } from "./bench-stack.js";
import { type DataPlaneOptions, postRelayFloor } from "./data-plane.js";
import { type LatencyOptions, type LatencyRow, runLatency } from "./latency.js";

export interface SustainedJob {
  readonly fanOut: "direct" | "stream";
  readonly options: LatencyOptions;
  /** Sockets, posts in flight and seconds (half before the row, half after) of the relay floor. */
  readonly floor: DataPlaneOptions;
}

export type SustainedReply =
  | { readonly ok: true; readonly rows: LatencyRow[] }
  | { readonly ok: false; readonly message: string };

const progress = (line: string) => process.send?.({ progress: line });

async function sustained({ fanOut, options, floor }: SustainedJob): Promise<LatencyRow[]> {
  const relayFloor = () => postRelayFloor(floor.sockets, floor.relayFloorSeconds / 2, floor.concurrency);
  const stack = await startBenchStack(fanOut);
  try {
    // A fresh process: one second of relaying first, so the floor is not timed on cold code.
    await postRelayFloor(floor.sockets, 1, floor.concurrency);
    const before = await relayFloor();
    const measured = await runLatency(stack, options, progress);
    const after = await relayFloor();
    progress(
      `sustained ${fanOut}: POST relay floor ${Math.round(before)}/s before, ${Math.round(after)}/s after`,
    );
    return measured.map((row) => ({ ...row, relayFloor: { before, after } }));
  } finally {
    await stack.stop();
  }
}

process.once("disconnect", () => process.exit(0));
process.once("message", (job: SustainedJob) => {
  sustained(job).then(
    (rows) => process.send?.({ ok: true, rows } satisfies SustainedReply),
    (error: unknown) =>
      process.send?.({
        ok: false,
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      } satisfies SustainedReply),
  );
});
