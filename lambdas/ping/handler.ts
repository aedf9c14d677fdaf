import { pongFrame } from "../../protocol/index.js";
import type { EnvRecord } from "../shared/config.js";
import type { RouteResult } from "../shared/websocket-event.js";

/** `ping` (two-way): `{"action":"ping"}` is answered with `{"type":"pong"}`. Needs no configuration. */
export function createHandler(_env: EnvRecord) {
  const pong: RouteResult = { statusCode: 200, body: pongFrame() };
  return async (): Promise<RouteResult> => ({ ...pong });
}
