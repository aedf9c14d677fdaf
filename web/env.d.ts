/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Build-time WebSocket stage URL of a deployed viewer. */
  readonly VITE_TRACE_STREAM_URL?: string;
  /** Build-time token service: `GET {url}?traceId=T` answering `{"token": "..."}`. */
  readonly VITE_TRACE_STREAM_TOKEN_URL?: string;
}

interface Window {
  /** Runtime configuration of a deployed viewer (see web/public/config.js). */
  traceStreamConfig?: unknown;
}
