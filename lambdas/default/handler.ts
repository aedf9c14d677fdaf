import type { EnvRecord } from "../shared/config.js";
import { messageBody, type WebSocketEvent } from "../shared/websocket-event.js";
import { answerUnrouted } from "./default-route.js";

export function createHandler(_env: EnvRecord) {
  return async (event: WebSocketEvent) => answerUnrouted(messageBody(event));
}
