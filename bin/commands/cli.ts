import { readFileSync } from "node:fs";
import type { Command, CommandContext } from "./command.js";
import { wantsHelp } from "./command.js";
import { classify, ExitCode, UsageError } from "./errors.js";

interface CommandEntry {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Commands load on use: `token` does not pay for the AWS SDK clients `connections` needs. */
  load(): Promise<Command>;
}

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "dev",
    summary: "run the whole system on this machine (same as `npm start`)",
    load: async () => (await import("./dev.js")).devCommand,
  },
  {
    name: "demo",
    summary: "publish a realistic simulated agent run, paced like a real one",
    load: async () => (await import("./demo.js")).demoCommand,
  },
  {
    name: "tail",
    summary: "follow a trace live: its history, then each event as it happens",
    load: async () => (await import("./tail.js")).tailCommand,
  },
  {
    name: "emit",
    summary: "publish one trace event from flags or a JSON file / stdin",
    load: async () => (await import("./emit.js")).emitCommand,
  },
  {
    name: "connections",
    summary: "how many clients watch a trace, and who",
    load: async () => (await import("./connections.js")).connectionsCommand,
  },
  {
    name: "token",
    summary: "mint a viewer token (JWT) for one or more traces",
    load: async () => (await import("./token.js")).tokenCommand,
  },
  {
    name: "schema",
    summary: "print the JSON Schema of TraceEvent v1 (for producers in other languages)",
    load: async () => (await import("./schema.js")).schemaCommand,
  },
];

const EXIT_CODES_HELP = `Exit codes:
  0    success (tail: the trace ended)
  1    the operation failed (delivery failed, the service answered with an error)
  2    bad input (unknown command or option, missing or malformed value, invalid event or JSON)
  3    an endpoint could not be reached
  4    the token was refused (401) or does not grant the trace (403)
  130  interrupted (Ctrl-C)`;

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return `trace-stream: watch AI agent runs live

Usage: trace-stream <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join("\n")}

Run \`trace-stream <command> --help\` for a command's options, \`trace-stream --version\` for the
version. Every command reaches the local stack (\`npm start\`) by default; flags and
TRACE_STREAM_* variables point it elsewhere.

${EXIT_CODES_HELP}
`;
}

/**
 * Runs one command line and returns the exit code. The one place where errors become messages and
 * exit codes: a user sees `trace-stream <command>: <message>`, never a stack trace (set
 * TRACE_STREAM_DEBUG=1 to see one).
 */
export async function runCli(argv: readonly string[], context: CommandContext): Promise<number> {
  const [name, ...rest] = argv;
  let commandName: string | undefined;
  try {
    if (name === undefined) {
      context.stderr.write(mainHelp());
      return ExitCode.usage;
    }
    if (name === "--version" || name === "-v" || name === "version") {
      context.stdout.write(`trace-stream ${packageVersion()}\n`);
      return ExitCode.ok;
    }
    if (name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" ? rest[0] : undefined;
      const helpFor = topic === undefined ? undefined : await findCommand(topic).load();
      context.stdout.write(helpFor === undefined ? mainHelp() : `${helpFor.help}\n`);
      return ExitCode.ok;
    }
    const entry = findCommand(name);
    commandName = entry.name;
    const command = await entry.load();
    if (wantsHelp(rest)) {
      context.stdout.write(`${command.help}\n`);
      return ExitCode.ok;
    }
    return await command.run(rest, context);
  } catch (error) {
    const { exitCode, message, hint } = classify(error);
    const interrupted = context.signal.aborted && exitCode !== ExitCode.usage;
    context.stderr.write(`trace-stream${commandName === undefined ? "" : ` ${commandName}`}: ${message}\n`);
    if (hint !== undefined) context.stderr.write(`  ${hint}\n`);
    if (context.env.TRACE_STREAM_DEBUG && error instanceof Error && error.stack) {
      context.stderr.write(`${error.stack}\n`);
    }
    return interrupted ? ExitCode.interrupted : exitCode;
  }
}

/** The version in the package's package.json: the one `npm install` put here. */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}

function findCommand(name: string): CommandEntry {
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (entry !== undefined) return entry;
  if (name.startsWith("-")) throw new UsageError(`expected a command before ${JSON.stringify(name)}`);
  throw new UsageError(
    `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((candidate) => candidate.name).join(", ")}`,
  );
}
