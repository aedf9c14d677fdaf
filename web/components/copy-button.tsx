import { useEffect, useState } from "react";

export interface CopyButtonProps {
  /** The text to copy, computed when clicked. */
  readonly text: () => string;
  readonly label: string;
  readonly testId?: string;
}

/** Copies `text()` to the clipboard and says whether that worked. */
export function CopyButton({ text, label, testId }: CopyButtonProps) {
  const [result, setResult] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (result === "idle") return;
    const timer = setTimeout(() => setResult("idle"), 2000);
    return () => clearTimeout(timer);
  }, [result]);
  return (
    <button
      type="button"
      className="button button--small"
      data-testid={testId}
      onClick={() => {
        // The clipboard API needs a secure context (https, or localhost); say so when it is missing.
        const clipboard = navigator.clipboard as Clipboard | undefined;
        if (!clipboard) {
          setResult("failed");
          return;
        }
        clipboard.writeText(text()).then(
          () => setResult("copied"),
          () => setResult("failed"),
        );
      }}
    >
      <span aria-live="polite">
        {result === "copied" ? "Copied" : result === "failed" ? "Copy failed: select and copy" : label}
      </span>
    </button>
  );
}
