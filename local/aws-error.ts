/**
 * An error the emulated service answers with, in the AWS JSON protocols: HTTP status, the
 * `x-amzn-ErrorType` header and a `{"__type", "message"}` body that the SDKs turn into typed
 * exceptions.
 */
export class AwsServiceError extends Error {
  override readonly name = "AwsServiceError";
  /** The exception name the SDK will raise (`ValidationException`, `QueueDoesNotExist`). */
  readonly code: string;
  readonly statusCode: number;
  /** Extra response headers (SQS's `x-amzn-query-error`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `__type` value when it differs from `code` (SQS prefixes its namespace). */
  readonly type: string;
  constructor(
    code: string,
    message: string,
    statusCode = 400,
    headers: Readonly<Record<string, string>> = {},
    type = code,
  ) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
    this.headers = headers;
    this.type = type;
  }
}
