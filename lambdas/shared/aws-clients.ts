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

export function documentClient(env: EnvRecord): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(env, "AWS_ENDPOINT_URL_DYNAMODB")), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function managementClient(endpoint: string, env: EnvRecord): ApiGatewayManagementApiClient {
  // Retries are ours (connection-gateway.ts): throttles back off per connection, Gone never retries.
  return new ApiGatewayManagementApiClient({ ...clientConfig(env, "__none__"), endpoint, maxAttempts: 1 });
}

export function sqsClient(env: EnvRecord): SQSClient {
  return new SQSClient(clientConfig(env, "AWS_ENDPOINT_URL_SQS"));
}

export function secretsClient(env: EnvRecord): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(env, "AWS_ENDPOINT_URL_SECRETS_MANAGER"));
}
