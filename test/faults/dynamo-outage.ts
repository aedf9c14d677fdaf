/**
 * A DynamoDB outage seen by the emitter only: while it lasts, every request of the emitter's
 * table client fails with InternalServerError (after the SDK's own retries), so its invocations
 * fail and Lambda's async retries end in the on-failure destination, with the raw event in the
 * record. Failed posts no longer fail an invocation (the event is stored and clients resume it),
 * so a storage outage is the failure that really reaches that path.
 */
import { InternalServerError } from "@aws-sdk/client-dynamodb";
import type { HandlerFactory } from "../../local/index.js";
import { emitterWithFaults } from "./emitter-with-faults.js";

export class DynamoOutage {
  /** Epoch ms until which the emitter's table requests fail (0: no outage). */
  until = 0;

  /** The emitter with this outage at its DynamoDB client, for `handlers.emitter`. */
  emitter(): HandlerFactory {
    return emitterWithFaults({
      dynamo: (client) =>
        client.middlewareStack.add(
          (next) => async (args) => {
            if (this.until > Date.now()) {
              throw new InternalServerError({
                message: "Internal server error (injected outage)",
                $metadata: { httpStatusCode: 500 },
              });
            }
            return next(args);
          },
          { step: "deserialize", name: "injectDynamoOutage" },
        ),
    });
  }

  /** Runs `work` with the table unreachable for the emitter, then ends the outage. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.until = Date.now() + 10 * 60_000;
    try {
      return await work();
    } finally {
      this.until = 0;
    }
  }
}
