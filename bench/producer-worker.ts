/**
 * The latency rows' producer in a child process: it puts one event per PutEvents call on an
 * open-loop schedule, as an agent's coordinator would from its own machine, so the SDK's request
 * building does not take CPU from the stack being timed. Send times are absolute
 * (`performance.timeOrigin + performance.now()`) like the subscriber pool's receipt times.
 */
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { benchEvent } from "./bench-events.js";
import { sleep } from "./stats.js";

export interface ProducerJob {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly busName: string;
  readonly source: string;
  readonly traceId: string;
  /** Events per second. */
  readonly rate: number;
  /** Events put, seqs 0 to count - 1. */
  readonly count: number;
}

export interface ProducerResult {
  /** When each seq's PutEvents call started, absolute. */
  readonly sentAt: readonly number[];
  /** When the schedule started, absolute. */
  readonly startedAt: number;
  /** Events per second, as achieved by the schedule. */
  readonly achievedRate: number;
  readonly putFailures: number;
}

const now = () => performance.timeOrigin + performance.now();

async function produce(job: ProducerJob): Promise<ProducerResult> {
  const eventBridge = new EventBridgeClient({
    endpoint: job.endpoint,
    region: job.region,
    credentials: job.credentials,
  });
  const sentAt: number[] = [];
  let putFailures = 0;
  const inFlight = new Set<Promise<void>>();
  const startedAt = now();
  for (let seq = 0; seq < job.count; seq++) {
    const wait = startedAt + (seq * 1000) / job.rate - now();
    if (wait > 1) await sleep(wait);
    const event = benchEvent(job.traceId, seq);
    sentAt[seq] = now();
    const put = eventBridge
      .send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: job.busName,
              Source: job.source,
              DetailType: event.event,
              Detail: JSON.stringify(event),
            },
          ],
        }),
      )
      .then((output) => {
        if (output.FailedEntryCount) putFailures++;
      })
      .catch(() => {
        putFailures++;
      })
      .finally(() => inFlight.delete(put));
    inFlight.add(put);
  }
  const achievedRate = job.count / ((now() - startedAt) / 1000);
  await Promise.all([...inFlight]);
  eventBridge.destroy();
  return { sentAt, startedAt, achievedRate, putFailures };
}

process.once("disconnect", () => process.exit(0));
process.once("message", (job: ProducerJob) => {
  produce(job).then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) => process.send?.({ ok: false, message: String(error) }),
  );
});
