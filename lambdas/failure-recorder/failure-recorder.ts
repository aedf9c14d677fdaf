import { MAX_FRAME_BYTES, redact, utf8Bytes } from "../../protocol/index.js";
import type { Log, MetricsPort } from "../shared/telemetry.js";

/** Where redacted failure records go (SQS in AWS and locally). */
export interface FailureQueuePort {
  send(body: string, attributes: { condition: string; requestId: string }): Promise<void>;
}

/** The parts of Lambda's on-failure destination record the recorder reads. */
interface FailureRecord {
  readonly requestContext?: { readonly requestId?: string; readonly condition?: string };
  readonly requestPayload?: unknown;
}

/**
 * Lambda hands an on-failure destination the raw request payload: for the emitter, the
 * EventBridge event as the producer sent it, before the emitter's redaction. Routing the record
 * through this function means the failure queue never holds an unredacted secret.
 */
export function failureRecordBody(record: unknown): string {
  const redacted = redact(record) as FailureRecord & Record<string, unknown>;
  const body = JSON.stringify(redacted);
  if (utf8Bytes(body) <= MAX_FRAME_BYTES) return body;
  // Keep the record readable within SQS's limit: the envelope without its detail.
  const payload = redacted.requestPayload as Record<string, unknown> | undefined;
  const { detail: _detail, ...envelope } = payload ?? {};
  return JSON.stringify({
    ...redacted,
    requestPayload: { ...envelope, detail_omitted: "the detail is too large to keep in the failure queue" },
  });
}

export function makeFailureRecorder(deps: { queue: FailureQueuePort; log: Log; metrics: MetricsPort }) {
  return async function record(input: unknown): Promise<void> {
    const record = (input ?? {}) as FailureRecord;
    const requestId = record.requestContext?.requestId ?? "unknown";
    const condition = record.requestContext?.condition ?? "unknown";
    await deps.queue.send(failureRecordBody(input), { condition, requestId });
    deps.metrics.count("EmitterFailuresRecorded");
    deps.log.error("emitter invocation given up", { requestId, condition });
  };
}
