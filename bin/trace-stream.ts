import { runCli } from "./commands/cli.js";

/** The `trace-stream` CLI: wires the process (argv, streams, signals, exit code) to runCli. */

// The AWS SDK's notice about its future Node requirement is for developers, not for CLI output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const controller = new AbortController();
let interrupts = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupts++;
    // A second Ctrl-C while a command is still cleaning up stops at once.
    if (interrupts > 1) process.exit(130);
    controller.abort();
  });
}

const exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: controller.signal,
});

// Let buffered output reach a pipe before leaving; AWS SDK sockets must not keep the process alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(exitCode)));
