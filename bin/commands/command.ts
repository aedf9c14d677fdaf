import { type ParseArgsConfig, parseArgs } from "node:util";
import type { ExitCode } from "./errors.js";
import { UsageError } from "./errors.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** What a command may touch: passed in, so the same command runs in a process or a test. */
export interface CommandContext {
  readonly env: Environment;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly stdin: NodeJS.ReadableStream;
  /** Aborted on Ctrl-C / SIGTERM; long-running commands stop cleanly and exit 130. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly name: string;
  /** The full `--help` text. */
  readonly help: string;
  run(argv: readonly string[], context: CommandContext): Promise<ExitCode>;
}

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;
type Parsed<Options extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>
>;

/**
 * Strict parseArgs for one command: unknown flags, missing values and extra positionals become a
 * UsageError naming the command, never a stack trace.
 */
export function parseCommandArgs<const Options extends OptionsConfig>(
  command: string,
  argv: readonly string[],
  options: Options,
  positionals: { readonly max: number } = { max: 0 },
): Parsed<Options> {
  let parsed: Parsed<Options>;
  try {
    parsed = parseArgs({
      args: attachNegativeNumbers(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseArgsMessage(error), command, { cause: error });
  }
  if (parsed.positionals.length > positionals.max) {
    const extra = parsed.positionals.slice(positionals.max).map((value) => JSON.stringify(value));
    throw new UsageError(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.join(" ")}`, command);
  }
  return parsed;
}

/**
 * `--seq -1` as `--seq=-1`: parseArgs reads a value starting with "-" as a missing value, which
 * would hide the real problem (the number is out of range) behind advice about `=`. No flag is a
 * number, so a negative number after a flag that takes a value can only be that flag's value.
 */
function attachNegativeNumbers(argv: readonly string[], options: OptionsConfig): string[] {
  const args: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    const next = argv[index + 1];
    if (arg === "--") {
      args.push(...argv.slice(index));
      break;
    }
    const takesValue = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (takesValue && next !== undefined && /^-\d+(?:\.\d+)?$/.test(next)) {
      args.push(`${arg}=${next}`);
      index++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

/** Node's parseArgs messages, without the advice about `--` that does not apply here. */
function parseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /^Option '(?:-\w, )?(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
  if (ambiguous) {
    return `option ${ambiguous[1]} needs a value (for a value starting with "-", write ${ambiguous[1]}=VALUE)`;
  }
  return message.split(". ")[0] ?? message;
}

/** True when `--help`/`-h` appears before a `--` terminator. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}
