/**
 * Local double of API Gateway's WebSocket API and its @connections management API. The official
 * `@aws-sdk/client-apigatewaymanagementapi` works against `managementEndpoint` unchanged.
 */
export { startWebSocketGateway } from "./gateway.js";
export type {
  AuthorizerContext,
  RequestAuthorizerEvent,
  WebSocketEvent,
  WebSocketIdentity,
  WebSocketRequestContext,
} from "./lambda-events.js";
export type {
  ConnectionInfo,
  GatewayFaults,
  GatewayLimits,
  GatewayLogLevel,
  GatewayOptions,
  WebSocketGateway,
} from "./options.js";
