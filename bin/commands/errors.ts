import { TraceDeliveryError, TraceStateError } from "../../client/producer-errors.js";
import { TraceStreamError } from "../../client/subscriber-state.js";
import { TraceEventError } from "../../protocol/validate.js";

/** Exit codes of every command; documented in `trace-stream --help`. */
export const ExitCode = {
  ok: 0,
  /** The operation failed (a delivery failed, the service answered with an error). */
  failure: 1,
  /** Bad input: unknown command or flag, missing or malformed value, invalid event, bad JSON. */
  usage: 2,
  /** An endpoint could not be reached (connection refused, DNS, timeout). */
  unreachable: 3,
  /** The token was refused (401) or does not grant the trace (403). */
  notAuthorized: 4,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error a command raises on purpose: its message is shown as it is, with its exit code. */
export class CliError extends Error {
  override name = "CliError";
  /** A next step for the user, printed under the message. */
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = exitCode;
    this.hint = options?.hint;
  }
}

/** Bad input; the hint points at the command's help. */
export class UsageError extends CliError {
  override name = "UsageError";
  constructor(message: string, command?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, {
      cause: options?.cause,
      hint: `run \`trace-stream ${command === undefined ? "" : `${command} `}--help\` for usage`,
    });
  }
}

export class UnreachableError extends CliError {
  override name = "UnreachableError";
  constructor(what: string, address: string, cause: unknown) {
    super(
      `cannot reach ${what} at ${address} (${networkCodeOf(cause) ?? describe(cause)})`,
      ExitCode.unreachable,
      {
        cause,
        hint: "is the local stack running (`npm start`)? Endpoints are set with flags or TRACE_STREAM_* variables",
      },
    );
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

/** Codes of Node's network errors: the endpoint could not be reached at all. */
export function isNetworkCode(code: string): boolean {
  return NETWORK_CODES.has(code);
}

/** `ECONNREFUSED` and friends, from the error or its causes; undefined for anything else. */
export function networkCodeOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    if (current instanceof AggregateError) {
      for (const inner of current.errors) {
        const innerCode = networkCodeOf(inner);
        if (innerCode !== undefined) return innerCode;
      }
    }
    current = current.cause;
  }
  return undefined;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The one mapping from any error to what the user sees and the exit code. */
export function classify(error: unknown): { exitCode: ExitCode; message: string; hint?: string | undefined } {
  if (error instanceof CliError)
    return { exitCode: error.exitCode, message: error.message, hint: error.hint };
  if (error instanceof TraceEventError) {
    return { exitCode: ExitCode.usage, message: `invalid event (${error.code}): ${error.reason}` };
  }
  if (error instanceof TraceStateError) return { exitCode: ExitCode.usage, message: error.message };
  if (error instanceof TraceDeliveryError) {
    const unreachable = error.failures.every((failure) => NETWORK_CODES.has(failure.code));
    return { exitCode: unreachable ? ExitCode.unreachable : ExitCode.failure, message: error.message };
  }
  if (error instanceof TraceStreamError) {
    if (error.code === "unauthorized" || error.code === "forbidden" || error.code === "handshake_refused") {
      return { exitCode: ExitCode.notAuthorized, message: error.message };
    }
    if (error.code === "bad_request") return { exitCode: ExitCode.usage, message: error.message };
    return { exitCode: ExitCode.failure, message: error.message };
  }
  const networkCode = networkCodeOf(error);
  if (networkCode !== undefined) {
    return {
      exitCode: ExitCode.unreachable,
      message: `cannot reach an endpoint (${networkCode}): ${describe(error)}`,
    };
  }
  if (error instanceof Error && typeof (error as { $metadata?: unknown }).$metadata === "object") {
    // An AWS service answered with an error (missing table, access denied, ...).
    return { exitCode: ExitCode.failure, message: `${error.name}: ${error.message}` };
  }
  return { exitCode: ExitCode.failure, message: `unexpected error: ${describe(error)}` };
}
