import { type PublisherOptions, TraceDeliveryError } from "../../client/producer.js";
import { isNetworkCode, UnreachableError } from "./errors.js";
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

/** A delivery that failed only because EventBridge could not be reached names the endpoint. */
export function explainDeliveryFailure(error: unknown, settings: EventBridgeSettings): unknown {
  if (
    error instanceof TraceDeliveryError &&
    error.failures.length > 0 &&
    error.failures.every((failure) => isNetworkCode(failure.code))
  ) {
    return new UnreachableError(
      "EventBridge",
      settings.endpoint ?? `the ${settings.region ?? "default"} region`,
      error.cause ?? error,
    );
  }
  return error;
}
