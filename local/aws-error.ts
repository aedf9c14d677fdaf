/**
 * An error the emulated service answers with, in the AWS JSON protocols: HTTP status, the
 * `x-amzn-ErrorType` header and a `{"__type", "message"}` body that the SDKs turn into typed
 * exceptions.
 */
export class AwsServiceError extends Error {
  override readonly name = "AwsServiceError";
  constructor(
    /** The exception name the SDK will raise (`ValidationException`, `QueueDoesNotExist`). */
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    /** Extra response headers (SQS's `x-amzn-query-error`). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** The `__type` value when it differs from `code` (SQS prefixes its namespace). */
    readonly type = code,
  ) {
    super(message);
  }
}
