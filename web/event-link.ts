/**
 * Links to one event: `#seq=N` in the fragment (beside `#token=`, which the fragment may also
 * carry and which a shared link must never include).
 */

/** The seq a fragment points at (`#seq=12`), if any. */
export function seqFromHash(hash: string): number | undefined {
  const value = new URLSearchParams(hash.replace(/^#/, "")).get("seq");
  if (value === null || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * A link to event `seq` of `traceId` on this viewer, to share: the page's own `url` parameter is
 * kept (a deployed viewer needs it), a token never is.
 */
export function eventLink(
  location: { origin: string; pathname: string; search: string },
  traceId: string,
  seq: number,
): string {
  const current = new URLSearchParams(location.search);
  const params = new URLSearchParams({ traceId });
  const url = current.get("url");
  if (url !== null) params.set("url", url);
  return `${location.origin}${location.pathname}?${params}#seq=${seq}`;
}

/** A file name for the trace's export: characters outside [A-Za-z0-9._-] become `_`. */
export function exportFileName(traceId: string): string {
  return `${traceId.replace(/[^A-Za-z0-9._-]/g, "_")}.jsonl`;
}

/** The events as JSON Lines: one event per line, in seq order, each as received (redacted). */
export function toJsonLines(events: readonly unknown[]): string {
  return events.map((event) => `${JSON.stringify(event)}\n`).join("");
}
