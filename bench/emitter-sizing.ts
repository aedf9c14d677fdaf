/**
 * `npm run bench:emitter-sizing`: the emitter's memory and reserved concurrency, sized from
 * measurement. The handler runs alone in a child process (bench/emitter-cpu-worker.ts) against the
 * local stack in this one, so its CPU time per invocation is measured apart from the services it
 * calls; fanning one event out to 1, 10 and 50 real sockets.
 *
 * Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU, so 512 MB is
 * 0.29 vCPU. An invocation's duration at memory M is modelled as its CPU time stretched by that
 * share plus the time it waits on DynamoDB and @connections (measured wall minus CPU here, a stand-in
 * for AWS's service latency), and its cost as duration × M at the Arm price.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ENV } from "../lambdas/shared/env-names.js";
import { benchEvent, envelopeOf } from "./bench-events.js";
import { startBenchStack } from "./bench-stack.js";
import type { InvocationSample } from "./emitter-cpu-worker.js";
import { closeAll, openSockets } from "./sockets.js";
import { median, percentile } from "./stats.js";

const FANOUTS = [1, 10, 50];
const INVOCATIONS = 200;
const WARM_UP = 20;
const MEMORY_MB = [128, 256, 512, 1024, 1769];
/** Lambda on Arm, us-east-1: per GB-second and per request. */
const GB_SECOND_USD = 0.0000133334;
const REQUEST_USD = 0.2 / 1e6;
/** Memory at which a function has one full vCPU. */
const ONE_VCPU_MB = 1769;

interface Measured {
  readonly subscribers: number;
  readonly cpuMs: number;
  readonly cpuP95Ms: number;
  readonly waitMs: number;
}

function runWorker(env: Record<string, string>, envelopes: readonly unknown[]): Promise<InvocationSample[]> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL("./emitter-cpu-worker.ts", import.meta.url)), {
      execArgv: ["--import", "tsx"],
      env,
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    child.once("message", (samples) => {
      resolve(samples as InvocationSample[]);
      child.kill();
    });
    child.once("exit", (code) => reject(new Error(`the emitter worker exited (${code}) before reporting`)));
    child.send({ env, envelopes });
  });
}

async function main(): Promise<void> {
  const bench = await startBenchStack();
  const { stack } = bench;
  const measured: Measured[] = [];
  try {
    for (const subscribers of FANOUTS) {
      const traceId = `sizing-${subscribers}-${Date.now()}`;
      const sockets = await openSockets(() => bench.url(traceId), subscribers);
      const envelopes = Array.from({ length: WARM_UP + INVOCATIONS }, (_, seq) =>
        envelopeOf(benchEvent(traceId, seq), stack.source),
      );
      const env: Record<string, string> = {
        ...bench.env,
        PATH: process.env.PATH ?? "",
        AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
        AWS_ENDPOINT_URL_SQS: stack.endpoints.sqs,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        // As the CDK stack deploys it: INFO logs, EMF metrics on stdout.
        POWERTOOLS_SERVICE_NAME: "trace-stream",
        POWERTOOLS_METRICS_NAMESPACE: "TraceStream",
        POWERTOOLS_LOG_LEVEL: "INFO",
        [ENV.tableName]: stack.tableName,
        [ENV.connectionsEndpoint]: stack.endpoints.managementEndpoint,
        [ENV.deadLetterQueueUrl]: stack.endpoints.deadLetterQueueUrl,
        [ENV.eventSource]: stack.source,
      };
      const samples = (await runWorker(env, envelopes)).slice(WARM_UP);
      const cpu = samples.map((sample) => sample.cpuMs);
      measured.push({
        subscribers,
        cpuMs: median(cpu),
        cpuP95Ms: percentile(cpu, 95),
        waitMs: median(samples.map((sample) => Math.max(0, sample.wallMs - sample.cpuMs))),
      });
      process.stderr.write(`measured fan-out to ${subscribers}\n`);
      await closeAll(sockets);
    }
  } finally {
    await bench.stop();
  }

  const duration = (row: Measured, memoryMb: number) =>
    row.cpuMs / Math.min(1, memoryMb / ONE_VCPU_MB) + row.waitMs;
  const costPerMillion = (row: Measured, memoryMb: number) =>
    1e6 * (Math.ceil(duration(row, memoryMb)) / 1000) * (memoryMb / 1024) * GB_SECOND_USD + 1e6 * REQUEST_USD;
  const lines = [
    `Measured here: CPU ms per invocation (median, p95) and the wait on services (median wall − CPU), ${INVOCATIONS} invocations each.`,
    "",
    "| subscribers | CPU ms p50 | CPU ms p95 | wait ms |",
    "|---|---:|---:|---:|",
    ...measured.map(
      (row) =>
        `| ${row.subscribers} | ${row.cpuMs.toFixed(2)} | ${row.cpuP95Ms.toFixed(2)} | ${row.waitMs.toFixed(2)} |`,
    ),
    "",
    "Modelled on Lambda (Arm): duration ms / USD per million events / events a second per 20 reserved executions.",
    "",
    `| subscribers | ${MEMORY_MB.map((mb) => `${mb} MB`).join(" | ")} |`,
    `|---|${MEMORY_MB.map(() => "---:").join("|")}|`,
    ...measured.map(
      (row) =>
        `| ${row.subscribers} | ${MEMORY_MB.map(
          (mb) =>
            `${duration(row, mb).toFixed(1)} ms / $${costPerMillion(row, mb).toFixed(2)} / ${Math.floor((20 * 1000) / duration(row, mb))}/s`,
        ).join(" | ")} |`,
    ),
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
