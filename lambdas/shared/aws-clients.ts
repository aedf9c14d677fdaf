import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type EnvRecord, optionalString } from "./config.js";

/**
 * SDK client settings taken from the given environment rather than from `process.env`, so one
 * process can host several local stacks. On Lambda the record is `process.env` and every value
 * below is what the SDK would have found by itself.
 */
function clientConfig(env: EnvRecord, serviceEndpointVariable: string) {
  const endpoint = optionalString(env, serviceEndpointVariable) ?? optionalString(env, "AWS_ENDPOINT_URL");
  const accessKeyId = optionalString(env, "AWS_ACCESS_KEY_ID");
  const secretAccessKey = optionalString(env, "AWS_SECRET_ACCESS_KEY");
  const sessionToken = optionalString(env, "AWS_SESSION_TOKEN");
  const region = optionalString(env, "AWS_REGION") ?? optionalString(env, "AWS_DEFAULT_REGION");
  return {
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
  };
}

/** The SDK's middleware stack, as far as `stopsWith` needs it. */
interface FinalizeStack {
  add(
    middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
    options: { step: "finalizeRequest"; priority: "low"; name: string },
  ): void;
}

/**
 * Makes every request of `client` (each attempt, after the SDK's retry middleware) fail once
 * `signal` has aborted: the execution environment was stopped, so it sends nothing more.
 */
function stopsWith<C extends { readonly middlewareStack: object }>(
  client: C,
  signal: AbortSignal | undefined,
): C {
  if (!signal) return client;
  // Each client's stack is typed by its own inputs and outputs, and `add` is overloaded per step;
  // this middleware touches neither, so one shape serves every client.
  (client.middlewareStack as FinalizeStack).add(
    (next) => (args) => {
      signal.throwIfAborted();
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "stopWithExecutionEnvironment" },
  );
  return client;
}

export function documentClient(env: EnvRecord, signal?: AbortSignal): DynamoDBDocumentClient {
  const client = stopsWith(new DynamoDBClient(clientConfig(env, "AWS_ENDPOINT_URL_DYNAMODB")), signal);
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function managementClient(
  endpoint: string,
  env: EnvRecord,
  signal?: AbortSignal,
): ApiGatewayManagementApiClient {
  // Retries are ours (connection-gateway.ts): throttles back off per connection, Gone never retries.
  return stopsWith(
    new ApiGatewayManagementApiClient({ ...clientConfig(env, "__none__"), endpoint, maxAttempts: 1 }),
    signal,
  );
}

export function sqsClient(env: EnvRecord, signal?: AbortSignal): SQSClient {
  return stopsWith(new SQSClient(clientConfig(env, "AWS_ENDPOINT_URL_SQS")), signal);
}

export function secretsClient(env: EnvRecord, signal?: AbortSignal): SecretsManagerClient {
  return stopsWith(new SecretsManagerClient(clientConfig(env, "AWS_ENDPOINT_URL_SECRETS_MANAGER")), signal);
}
