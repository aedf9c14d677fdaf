import { useCallback, useSyncExternalStore } from "react";

const NAVIGATE = "trace-stream:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE, onChange);
  };
}

const getSearch = () => window.location.search;

/** The page's query string, kept in step with back/forward and `navigate`. */
export function useSearch(): string {
  return useSyncExternalStore(subscribe, getSearch, getSearch);
}

/**
 * Changes the query string in place (history entry, no reload): `null` removes a parameter; the
 * others (`url`, `token`) are kept so a deployed viewer stays configured.
 */
export function useNavigate(): (changes: Readonly<Record<string, string | null>>) => void {
  return useCallback((changes) => {
    const params = new URLSearchParams(window.location.search);
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) params.delete(name);
      else params.set(name, value);
    }
    const query = params.toString();
    window.history.pushState(
      null,
      "",
      `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`,
    );
    window.dispatchEvent(new Event(NAVIGATE));
  }, []);
}
