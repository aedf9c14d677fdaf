import { useEffect, useState } from "react";
import { RunsList } from "./components/runs-list.js";
import { TracePicker } from "./components/trace-picker.js";
import { TraceView } from "./components/trace-view.js";
import { stalledAfterFromSearch } from "./runs-view.js";
import { useNavigate, useSearch } from "./use-location.js";
import {
  fetchHostedConfig,
  fetchLocalConfig,
  resolveViewerSetup,
  type SetupResult,
} from "./viewer-config.js";

/** `/?traceId=T` watches T; without it, the start page: the live runs list and a trace id box. */
export function App() {
  const setup = useViewerSetup();
  const search = useSearch();
  const navigate = useNavigate();
  const traceId = new URLSearchParams(search).get("traceId")?.trim() || null;

  useEffect(() => {
    document.title = traceId ? `${traceId} · trace-stream` : "trace-stream viewer";
  }, [traceId]);

  if (setup === null) {
    return (
      <main className="page page--narrow" id="main">
        <p className="muted" role="status">
          Loading…
        </p>
      </main>
    );
  }
  if (traceId !== null && setup.ok) {
    return (
      <TraceView
        key={traceId}
        traceId={traceId}
        setup={setup.setup}
        onLeave={() => navigate({ traceId: null })}
      />
    );
  }
  if (!setup.ok) {
    return (
      <main className="page page--narrow" id="main">
        <TracePicker setup={setup} onOpen={(id) => navigate({ traceId: id })} />
      </main>
    );
  }
  return (
    <main className="page page--start" id="main">
      <RunsList
        setup={setup.setup}
        stalledAfterMs={stalledAfterFromSearch(search)}
        onOpen={(id) => navigate({ traceId: id })}
      />
      <TracePicker setup={setup} onOpen={(id) => navigate({ traceId: id })} compact />
    </main>
  );
}

function useViewerSetup(): SetupResult | null {
  const [setup, setSetup] = useState<SetupResult | null>(null);
  useEffect(() => {
    let current = true;
    resolveViewerSetup({
      search: window.location.search,
      hash: window.location.hash,
      pageConfig: window.traceStreamConfig,
      build: {
        url: import.meta.env.VITE_TRACE_STREAM_URL,
        tokenUrl: import.meta.env.VITE_TRACE_STREAM_TOKEN_URL,
      },
      hostedConfig: () => fetchHostedConfig(window.fetch.bind(window)),
      localConfig: () => fetchLocalConfig(window.fetch.bind(window)),
      fetch: window.fetch.bind(window),
    }).then(
      (result) => current && setSetup(result),
      (error: unknown) => current && setSetup({ ok: false, reason: String(error) }),
    );
    return () => {
      current = false;
    };
  }, []);
  return setup;
}
