import { type FormEvent, useId, useState } from "react";
import { TRACE_ID_PATTERN } from "../../protocol/trace-event.js";
import { type SetupResult, startDemo } from "../viewer-config.js";

export interface TracePickerProps {
  readonly setup: SetupResult;
  readonly onOpen: (traceId: string) => void;
  /** Below the runs list: a secondary heading and no introduction. */
  readonly compact?: boolean;
}

/** Type a trace id, or (local stack) start a simulated run and watch it. */
export function TracePicker({ setup, onOpen, compact = false }: TracePickerProps) {
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [demo, setDemo] = useState<"idle" | "starting" | { error: string }>("idle");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const traceId = value.trim();
    if (!TRACE_ID_PATTERN.test(traceId)) {
      setProblem(
        traceId === ""
          ? "Enter a trace id."
          : "A trace id is 1–128 characters of letters, digits and . _ : / -",
      );
      return;
    }
    setProblem(null);
    onOpen(traceId);
  };

  const runDemo = async () => {
    setDemo("starting");
    try {
      onOpen(await startDemo(fetch));
    } catch (error) {
      setDemo({ error: error instanceof Error ? error.message : String(error) });
    }
  };

  return (
    <section className="card picker" aria-labelledby="picker-heading" data-testid="trace-picker">
      {compact ? (
        <h2 id="picker-heading" className="picker__title picker__title--compact">
          Open a trace id
        </h2>
      ) : (
        <>
          <h1 id="picker-heading" className="picker__title">
            Watch an agent run
          </h1>
          <p className="muted">
            Open a trace to see its plan, tool calls, budget and approvals as they happen. Late? The history
            comes first, then the live events.
          </p>
        </>
      )}
      {!setup.ok && (
        <p className="notice notice--error" role="alert" data-testid="setup-problem">
          <span aria-hidden="true">✕</span> {setup.reason}
        </p>
      )}
      <form className="picker__form" onSubmit={submit} noValidate>
        <label htmlFor={inputId} className="picker__label">
          Trace id
        </label>
        <div className="picker__row">
          <input
            id={inputId}
            name="traceId"
            className="input mono"
            value={value}
            onChange={(change) => setValue(change.target.value)}
            placeholder="e.g. demo-3f2a…"
            autoComplete="off"
            spellCheck={false}
            aria-describedby={problem ? `${hintId} ${errorId}` : hintId}
            aria-invalid={problem !== null}
          />
          <button type="submit" className="button button--primary" disabled={!setup.ok}>
            Watch
          </button>
        </div>
        <p id={hintId} className="hint">
          The producer prints it; it is also the <code>trace_id</code> of every event.
        </p>
        {problem && (
          <p id={errorId} className="field-error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {setup.ok && setup.setup.canRunDemo && (
        <div className="picker__demo">
          <p className="muted">
            No agent at hand? Start a simulated run on the local stack and watch it live.
          </p>
          <button
            type="button"
            className="button"
            onClick={runDemo}
            disabled={demo === "starting"}
            aria-describedby={typeof demo === "object" ? `${errorId}-demo` : undefined}
          >
            <span aria-hidden="true">▶</span> {demo === "starting" ? "Starting…" : "Run demo"}
          </button>
          {typeof demo === "object" && (
            <p id={`${errorId}-demo`} className="field-error" role="alert">
              {demo.error}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
