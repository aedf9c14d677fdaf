/**
 * How the CLI process turns signals into a stop. One Ctrl-C can arrive twice: the terminal
 * signals the whole foreground process group, and a wrapper such as `npm start` forwards the same
 * signal to its child. Signals this close together are one request to stop; a later one is a
 * second Ctrl-C while a command is still cleaning up, and ends the process at once.
 */
export const SAME_SIGNAL_MS = 500;

export interface StopControl {
  /** Called for each SIGINT, SIGTERM or SIGHUP. */
  readonly onSignal: () => void;
  readonly signal: AbortSignal;
}

export function createStopControl(options: {
  /** Ends the process without cleaning up (the second Ctrl-C). */
  readonly exitNow: () => void;
  readonly now?: () => number;
}): StopControl {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  let firstAt: number | undefined;
  return {
    signal: controller.signal,
    onSignal: () => {
      if (firstAt === undefined) {
        firstAt = now();
        controller.abort();
      } else if (now() - firstAt > SAME_SIGNAL_MS) {
        options.exitNow();
      }
    },
  };
}
