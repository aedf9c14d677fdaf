import { type PublisherOptions, TraceDeliveryError } from "../../client/producer.js";
import { CliError, ExitCode, isNetworkCode, UnreachableError } from "./errors.js";
import type { EventBridgeSettings } from "./settings.js";

/** SDK options for the CLI: the resolved endpoint, and few quick retries (a person is waiting). */
export function publisherOptions(settings: EventBridgeSettings): PublisherOptions {
  return {
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    busName: settings.busName,
    source: settings.source,
    maxAttempts: 4,
    baseDelayMs: 100,
    maxDelayMs: 1000,
  };
}

/**
 * A delivery that failed only because EventBridge could not be reached names the endpoint; so does
 * one where something else answered there (the SDK calls that an "Unknown" error).
 */
export function explainDeliveryFailure(error: unknown, settings: EventBridgeSettings): unknown {
  if (!(error instanceof TraceDeliveryError) || error.failures.length === 0) return error;
  const endpoint = settings.endpoint ?? `the ${settings.region ?? "default"} region`;
  if (error.failures.every((failure) => isNetworkCode(failure.code))) {
    return new UnreachableError("EventBridge", endpoint, error.cause ?? error);
  }
  // The SDK names an error response it cannot read "Unknown", and a body that is not JSON a
  // deserialization error that keeps the raw `$response`.
  const cause = error.cause as
    | { $metadata?: { httpStatusCode?: unknown }; $response?: { statusCode?: unknown } }
    | undefined;
  const status = cause?.$metadata?.httpStatusCode ?? cause?.$response?.statusCode;
  const unreadable =
    error.failures.every((failure) => failure.code === "Unknown") || cause?.$response !== undefined;
  if (unreadable && typeof status === "number") {
    return new CliError(
      `${error.failures.length} trace event(s) not delivered: ${endpoint} answered HTTP ${status}, not as EventBridge does`,
      ExitCode.failure,
      {
        cause: error,
        hint: "is --eventbridge-endpoint (TRACE_STREAM_EVENTBRIDGE_ENDPOINT) the EventBridge endpoint?",
      },
    );
  }
  return error;
}
