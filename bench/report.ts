import type { ClientAbsorbResult } from "./client-absorb.js";
import type { CoalescedRow } from "./coalesced-fan-out.js";
import type { CostModel, ModeCost } from "./cost-model.js";
import type { DataPlaneResult } from "./data-plane.js";
import type { FanOutResult } from "./fan-out.js";
import type { LatencyRow } from "./latency.js";
import type { ReplayResult } from "./replay.js";
import { round } from "./stats.js";

export interface BenchResults {
  readonly generatedAt: string;
  readonly mode: "quick" | "full";
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly fanOut: FanOutResult;
  readonly latency: LatencyRow[];
  readonly sustained: LatencyRow[];
  readonly dataPlane: DataPlaneResult;
  /** Absent from runs recorded before the client rows existed. */
  readonly client?: ClientAbsorbResult[];
  readonly replay: ReplayResult;
  readonly cost: CostModel;
  /** The fan-out modes' row and their cost per viewer count; absent from runs recorded before it. */
  readonly coalesced?: { readonly rows: CoalescedRow[]; readonly costs: ModeCost[] };
  readonly notes: string[];
}

const n = (value: number) => String(round(value));
const x = (value: number) => `${round(value)}×`;
const usd = (value: number) => (value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`);

const pct = (value: number) => `${round(value * 100)} %`;

/** The floor a sustained row is compared with: the mean of the floor held before and after it. */
const floorOf = (row: LatencyRow, fallback: number) =>
  row.relayFloor ? (row.relayFloor.before + row.relayFloor.after) / 2 : fallback;

function latencyTable(rows: readonly LatencyRow[], floor?: number): string {
  const header = [
    "events/s",
    "for s",
    "events",
    "offered deliveries/s",
    "delivered/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "max ms",
    "lost",
    "duplicate frames",
    "failure records",
    "RSS MB at end",
  ];
  // With the floor (the sustained rows) each row also says its fan-out mode.
  return table(
    floor === undefined
      ? header
      : ["fan-out", ...header, "POST relay floor/s before, after", "of the POST relay floor"],
    rows.map((row) => [
      ...(floor === undefined ? [] : [row.fanOut ?? "direct"]),
      String(row.targetRate),
      n(row.events / row.targetRate),
      String(row.events),
      String(row.offeredDeliveriesPerSecond),
      n(row.deliveredPerSecond),
      n(row.p50Ms),
      n(row.p95Ms),
      n(row.p99Ms),
      n(row.maxMs),
      String(row.lost),
      String(row.duplicateFrames),
      String(row.failureRecords ?? "-"),
      n(row.rssMbAtEnd),
      ...(floor === undefined
        ? []
        : [
            row.relayFloor ? `${n(row.relayFloor.before)}, ${n(row.relayFloor.after)}` : n(floor),
            pct(row.deliveredPerSecond / floorOf(row, floor)),
          ]),
    ]),
  );
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

export function renderMarkdown(results: BenchResults): string {
  const { fanOut, latency, replay, cost } = results;
  const parts: string[] = [];
  parts.push(
    `Measured ${results.generatedAt} (${results.mode} run) on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}; the gateway emulator, the Lambda handlers and the replay client in one process; dynalite in a child process; the fan-out row's two designs, the latency producer and every row's subscribers in child processes of their own (left out of the RSS); the sustained rows each in a fresh process.`,
  );

  parts.push(
    `**Fan-out**: one event to N subscribers (real \`ws\` sockets) of one trace; the table also holds ${fanOut.otherSubscriptions.toLocaleString("en-US")} subscriptions of other traces. Medians; ms = until the last socket received the event. Baseline = sample-style Scan + unbounded Promise.all.`,
  );
  parts.push(
    table(
      [
        "N",
        "ms/event ours",
        "ms/event baseline",
        "baseline/ours",
        "items read ours",
        "items read baseline",
        "baseline/ours",
        "read units ours",
        "read units baseline",
        "baseline/ours",
      ],
      fanOut.rows.map((row) => [
        String(row.subscribers),
        n(row.ours.msPerEvent),
        n(row.baseline.msPerEvent),
        x(row.ratio.msPerEvent),
        n(row.ours.itemsReadPerEvent),
        n(row.baseline.itemsReadPerEvent),
        x(row.ratio.itemsReadPerEvent),
        n(row.ours.readUnitsPerEvent),
        n(row.baseline.readUnitsPerEvent),
        x(row.ratio.readUnits),
      ]),
    ),
  );

  parts.push(
    `**End-to-end latency**: PutEvents → receipt by each of ${latency[0]?.subscribers ?? 0} subscribers, full local stack.`,
  );
  parts.push(latencyTable(latency));

  const { dataPlane, sustained } = results;
  parts.push(
    `**Posting paths and floors** (${dataPlane.posts.toLocaleString("en-US")} posts to ${dataPlane.sockets} real sockets, ${dataPlane.concurrency} in flight, same run): deliveries/s, each counted when its socket received the frame.`,
  );
  parts.push(
    table(
      ["path", "deliveries/s", "vs the SDK post"],
      [
        ["@connections post, SDK PostToConnectionCommand", n(dataPlane.sdkPostsPerSecond), "1×"],
        [
          "@connections post, signed keep-alive request (the Lambdas')",
          n(dataPlane.signedPostsPerSecond),
          x(dataPlane.signedOverSdk),
        ],
        [
          "floor: keep-alive HTTP POST relayed into `ws`",
          n(dataPlane.postRelayPerSecond),
          x(dataPlane.postRelayPerSecond / dataPlane.sdkPostsPerSecond),
        ],
        [
          "floor: plain `ws` broadcast",
          n(dataPlane.wsBroadcastPerSecond),
          x(dataPlane.wsBroadcastPerSecond / dataPlane.sdkPostsPerSecond),
        ],
      ],
    ),
  );
  parts.push(
    `**Sustained**: ${sustained[0]?.targetRate ?? 0} events/s to ${sustained[0]?.subscribers ?? 0} subscribers, held; full local stack (EventBridge, the emitter under its reserved concurrency, @connections), each mode on a fresh stack. Delivered/s counts event deliveries (a coalesced frame carries several); each row is compared with the POST relay floor held just before and just after it, since this host's speed drifts between minutes.`,
  );
  parts.push(latencyTable(sustained, dataPlane.postRelayPerSecond));

  if (results.client !== undefined) {
    parts.push(
      "**Client absorption**: a stream fed to `TraceStreamClient` in process (no network), `getSnapshot()` read after every notification as React reads it.",
    );
    parts.push(
      table(
        ["events", "maxEvents", "events per frame", "events/s absorbed", "snapshots read", "held at end"],
        results.client.map((row) => [
          String(row.events),
          String(row.maxEvents),
          String(row.eventsPerFrame),
          n(row.eventsPerSecond),
          String(row.snapshotsRead),
          String(row.held),
        ]),
      ),
    );
  }

  parts.push(
    `**Replay**: a late joiner resumes from -1 on a ${replay.events.toLocaleString("en-US")}-event trace.`,
  );
  parts.push(
    table(
      [
        "events",
        "resume → synced ms",
        "events/s",
        "frames",
        "events/frame",
        "bytes/frame mean",
        "bytes/frame max",
        "32 KB message units (one message per event)",
        "read units",
        "complete, in order",
      ],
      [
        [
          String(replay.events),
          n(replay.ms),
          n(replay.eventsPerSecond),
          String(replay.frames),
          n(replay.eventsPerFrame),
          n(replay.meanBytesPerFrame),
          String(replay.maxBytesPerFrame),
          `${replay.messageUnits} (${replay.messageUnitsOnePerEvent})`,
          n(replay.readUnits),
          replay.complete ? "yes" : "NO",
        ],
      ],
    ),
  );

  parts.push(
    "**Cost per million events delivered to one viewer** (us-east-1 list prices, see bench/cost-model.ts):",
  );
  parts.push(
    table(
      ["item", "ours: units", "ours: USD", "baseline: units", "baseline: USD"],
      [
        ...cost.ours.lines.map((line, i) => {
          const other = cost.baseline.lines[i];
          return [line.item, n(line.units), usd(line.usd), n(other?.units ?? 0), usd(other?.usd ?? 0)];
        }),
        ["**total**", "", `**${usd(cost.ours.totalUsd)}**`, "", `**${usd(cost.baseline.totalUsd)}**`],
        ["baseline/ours", "", "", "", `**${x(cost.ratio)}**`],
      ],
    ),
  );
  parts.push(cost.assumptions.map((line) => `- ${line}`).join("\n"));
  if (results.coalesced) {
    parts.push("**Fan-out modes: cost per million events by viewers** (bench/coalesced-fan-out.ts):");
    parts.push(
      table(
        [
          "viewers",
          "events a batch",
          "direct: USD",
          "coalesced: USD",
          "direct ms a batch",
          "coalesced ms a batch",
        ],
        results.coalesced.rows.map((row, i) => {
          const cost = results.coalesced?.costs[i];
          return [
            n(row.viewers),
            n(row.coalesced.eventsPerBatch),
            usd(cost?.direct.totalUsd ?? 0),
            usd(cost?.coalesced.totalUsd ?? 0),
            n(row.msPerBatch.direct),
            n(row.msPerBatch.coalesced),
          ];
        }),
      ),
    );
  }
  if (results.notes.length > 0) parts.push(results.notes.map((line) => `- ${line}`).join("\n"));
  return `${parts.join("\n\n")}\n`;
}
