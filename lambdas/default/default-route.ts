import { type ErrorCode, errorFrame, RAW_PING, RAW_PONG } from "../../protocol/index.js";
import type { RouteResult } from "../shared/websocket-event.js";

const KNOWN_ACTIONS = '"ping", "resume" or "listRuns"';

function refuse(code: ErrorCode, message: string): RouteResult {
  return { statusCode: 200, body: errorFrame(code, message) };
}

/**
 * `$default` (two-way): raw text `ping` gets raw `pong` (the seed system's heartbeat); anything
 * else reached no route, so the answer says why.
 */
export function answerUnrouted(body: string): RouteResult {
  if (body.trim() === RAW_PING) return { statusCode: 200, body: RAW_PONG };
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return refuse("invalid_json", `messages are JSON with an "action" (${KNOWN_ACTIONS}) or the text "ping"`);
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    return refuse("invalid_message", `messages are JSON objects with an "action" (${KNOWN_ACTIONS})`);
  }
  const action = (message as { action?: unknown }).action;
  if (action === undefined) return refuse("unknown_action", `missing "action"; use ${KNOWN_ACTIONS}`);
  const shown = typeof action === "string" ? JSON.stringify(action.slice(0, 64)) : typeof action;
  return refuse("unknown_action", `unknown action ${shown}; use ${KNOWN_ACTIONS}`);
}
