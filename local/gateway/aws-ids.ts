import { randomFillSync } from "node:crypto";

/**
 * Random bytes drawn from a pool refilled 4 KiB at a time: one call into the system's generator
 * per few hundred ids instead of one per id (a synchronous `randomBytes` per @connections answer
 * was 3 % of the stack's CPU under load). Node's `randomUUID` pools the same way.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomBytes(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return bytes;
}

/**
 * API Gateway's ids (connectionId, requestId, messageId): 11 random bytes in URL-safe base64 with
 * its padding, e.g. "L0SM9cOFvHcCIhw=" or "JC1dgf9yoAMCK-g=". The "=" is why callers must
 * URL-encode a connection id in an @connections path (the AWS SDK does).
 */
export function apiGatewayId(): string {
  return `${randomBytes(11).toString("base64url")}=`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function twoDigits(value: number): string {
  return String(value).padStart(2, "0");
}

/** `requestContext.requestTime` in API Gateway's common-log form: "13/Dec/2020:10:17:47 +0000". */
export function requestTime(epochMs: number): string {
  const at = new Date(epochMs);
  const date = `${twoDigits(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}`;
  const time = `${twoDigits(at.getUTCHours())}:${twoDigits(at.getUTCMinutes())}:${twoDigits(at.getUTCSeconds())}`;
  return `${date}:${time} +0000`;
}

/** The `X-Amzn-Trace-Id` API Gateway adds to the upgrade request, in X-Ray's Root format. */
export function amznTraceId(epochMs: number): string {
  return `Root=1-${Math.floor(epochMs / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
}
