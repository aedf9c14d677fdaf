import { runCli } from "./commands/cli.js";
import { createStopControl } from "./commands/stop-signals.js";

/** The `trace-stream` CLI: wires the process (argv, streams, signals, exit code) to runCli. */

// The AWS SDK's notice about its future Node requirement is for developers, not for CLI output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const stopControl = createStopControl({ exitNow: () => process.exit(130) });
const stop = stopControl.onSignal;
// SIGHUP: the terminal was closed.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);

/**
 * Under npm (`npm start`, `npx trace-stream`), npm forwards SIGTERM to the shell that runs this
 * process, and a shell that does not exec its command (dash, Debian's sh) dies of it without
 * passing it on: this process would be left behind holding its ports. So while npm runs it, a
 * process whose parent went away stops as on SIGTERM. (Outside npm, `nohup trace-stream dev &`
 * is meant to outlive its shell.)
 */
if (process.env.npm_lifecycle_event !== undefined) {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop();
  }, 250);
  watch.unref();
}

// A reader that went away (a closed pipe) must not crash the clean-up that follows a signal.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: stopControl.signal,
});

// Let buffered output reach a pipe before leaving; AWS SDK sockets must not keep the process alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(exitCode)));
