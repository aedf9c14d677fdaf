/** Size and time limits shared by every part of trace-stream. Sizes are UTF-8 bytes. */

/** A serialized TraceEvent may not exceed this: it must fit one WebSocket message with room to spare. */
export const MAX_EVENT_BYTES = 96 * 1024;

/**
 * Metadata may nest at most this many objects and arrays, metadata itself counting as the first
 * level. Deeper metadata is refused (`invalid_event`) before anything walks it, so no recursive
 * code ever meets it.
 */
export const MAX_METADATA_DEPTH = 32;

/**
 * No serialized event within MAX_EVENT_BYTES can hold more JSON values than this (each takes at
 * least two bytes: the value and a comma), so metadata with more is refused as too large before it
 * is walked further.
 */
export const MAX_METADATA_VALUES = MAX_EVENT_BYTES / 2;

/**
 * The redactor copies at most this many levels; a deeper subtree (only in dead-letter and failure
 * records of refused events) becomes `"[Truncated]"`, so its output is always safe to serialize.
 */
export const MAX_REDACT_DEPTH = 64;

/** API Gateway's hard limit for one WebSocket message (frame) in either direction. */
export const MAX_FRAME_BYTES = 128 * 1024;

/** Replay batches aim for this size; API Gateway meters messages in 32 KiB units. */
export const TARGET_BATCH_BYTES = 32 * 1024;

/**
 * One `resume` replays at most this many events ... (a page: the client asks again, from where the
 * page ended, while `synced` says `more`). Bounds what one 33-byte request can make the server
 * read and send.
 */
export const REPLAY_PAGE_EVENTS = 1000;
/** ... and at most this many bytes of frames. */
export const REPLAY_PAGE_BYTES = 256 * 1024;

/**
 * Each connection may send `resume` at most RESUME_REQUESTS_PER_WINDOW times per
 * RESUME_WINDOW_MS; more are refused with `rate_limited` and the time left in the window. Enough
 * for a late viewer to page through 20 pages (20,000 events) at once.
 */
export const RESUME_WINDOW_MS = 10_000;
export const RESUME_REQUESTS_PER_WINDOW = 20;

/**
 * The runs list (`listRuns`): one request returns at most MAX_RUNS_PAGE runs (RUNS_PAGE_DEFAULT
 * when it does not say), and each connection may ask at most RUNS_REQUESTS_PER_WINDOW times per
 * RESUME_WINDOW_MS.
 */
export const MAX_RUNS_PAGE = 100;
export const RUNS_PAGE_DEFAULT = 25;
export const RUNS_REQUESTS_PER_WINDOW = 20;
/** A run's goal is kept (and sent) cut to this many characters, so a page of runs fits one frame. */
export const MAX_RUN_GOAL_CHARS = 200;
/** `listRuns` search text and cursor are at most this long. */
export const MAX_RUNS_SEARCH_CHARS = 128;
export const MAX_RUNS_CURSOR_CHARS = 200;
/**
 * A runs watcher's token may carry at most this many `traces` grants: they travel in the
 * authorizer's context and in the watcher's item, and each one is a filter term of every list.
 */
export const MAX_RUNS_WATCHER_GRANTS = 20;
/** Default cap on concurrent runs watchers (each gets every run update its grants match). */
export const DEFAULT_MAX_RUNS_WATCHERS = 200;

/** Default cap on concurrent subscribers of one trace; `$connect` refuses more with 429. */
export const DEFAULT_MAX_SUBSCRIBERS_PER_TRACE = 1000;

/** EventBridge PutEvents: at most this many entries per call ... */
export const MAX_PUT_EVENTS_ENTRIES = 10;
/** ... and at most this many bytes per call (sum of entry sizes). */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/**
 * A `conflicts` frame lists at most this many refused events; a resume counts at most
 * MAX_CONFLICTS_COUNTED of them (one page read) and says "more" beyond.
 */
export const MAX_CONFLICTS_LISTED = 100;
export const MAX_CONFLICTS_COUNTED = 1000;

/** Highest seq the table's zero-padded sort key can hold (10 digits). */
export const MAX_SEQ = 9_999_999_999;

/** API Gateway closes a WebSocket connection after 2 hours ... */
export const MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;
/** ... and after 10 minutes without messages. */
export const IDLE_TIMEOUT_MS = 10 * 60 * 1000;

/** A subscription outlives API Gateway's connection cap by this margin, then TTL removes it. */
export const SUBSCRIPTION_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;

/** Stored events expire after this many days unless configured otherwise. */
export const DEFAULT_EVENT_RETENTION_DAYS = 7;

/** UTF-8 length of a string, without allocating a buffer in browsers. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair encodes one code point in four bytes.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
