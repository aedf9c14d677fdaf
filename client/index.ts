/** `trace-stream/client`: subscribe to a trace, or watch the runs list, from a browser or Node (no framework needed). */
export type {
  EventName,
  EventStatus,
  ReceivedTraceEvent,
  TraceEvent,
  UnknownTraceEvent,
} from "../protocol/event-names.js";
export { isKnownEvent, isTerminal, TERMINAL_EVENTS } from "../protocol/event-names.js";
export type {
  RunFilter,
  RunSummaryWire,
  RunsClientOptions,
  RunsConnection,
  RunsFilter,
  RunsSnapshot,
} from "./runs-client.js";
export { byNewest, isStalled, laterRun, matchesRunsFilter, RunsClient } from "./runs-client.js";
export type { SeqRange } from "./subscriber-reorder-buffer.js";
export type { PageSignals, Timers, WebSocketConstructor, WebSocketLike } from "./subscriber-socket.js";
export { browserPageSignals } from "./subscriber-socket.js";
export type {
  DisconnectCode,
  FailureCode,
  TraceStreamErrorCode,
  TraceStreamState,
  TraceStreamStatus,
} from "./subscriber-state.js";
export { TraceStreamError } from "./subscriber-state.js";
export type {
  ReconnectOptions,
  TraceConflicts,
  TraceStreamClientOptions,
  TraceStreamEventMap,
  TraceStreamSnapshot,
} from "./trace-stream-client.js";
export { TraceStreamClient } from "./trace-stream-client.js";
