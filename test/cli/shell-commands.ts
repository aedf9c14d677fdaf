/**
 * Shell commands as a reader pastes them: split from a block, run in one bash in order, each
 * one's output and exit status; and the AWS CLIs this machine has, one per major version.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./run-cli.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Commands of a block: continuation lines joined, blank lines dropped. */
export function commands(text: string): string[] {
  const result: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    current = current === "" ? line : `${current}\n${line}`;
    if (line.endsWith("\\")) continue;
    if (current.trim() !== "") result.push(current);
    current = "";
  }
  return result;
}

export interface CommandResult {
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the commands in one bash, in order, as a reader pastes them; each one's output and status. */
export async function runBlock(
  list: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ results: CommandResult[]; variables: Record<string, string> }> {
  const marker = `::end-${process.pid}-${Date.now()}`;
  const script = [
    ...list.flatMap((command) => [command, `code=$?; echo "${marker} $code"; echo "${marker}" >&2`]),
    `echo "${marker}-vars trace=\${trace:-}"`,
  ].join("\n");
  const child = spawn("bash", ["-c", script], {
    cwd: ROOT,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  await new Promise((resolve) => child.on("close", resolve));
  clearTimeout(timer);
  const outs = stdout.split(new RegExp(`${marker} (\\d+)\\n`));
  const errs = stderr.split(`${marker}\n`);
  const results = list.map((command, index) => ({
    command,
    stdout: outs[index * 2] ?? "",
    code: Number(outs[index * 2 + 1] ?? Number.NaN),
    stderr: errs[index] ?? "",
  }));
  const variables = Object.fromEntries(
    [...stdout.matchAll(new RegExp(`${marker}-vars (\\w+)=(\\S*)`, "g"))].map((match) => [
      match[1],
      match[2],
    ]),
  ) as Record<string, string>;
  return { results, variables };
}

/** The environment of a fresh terminal: nothing of AWS or trace-stream from the test runner. */
export function readerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AWS_") || name.startsWith("TRACE_STREAM_") || name.startsWith("npm_")) continue;
    env[name] = value;
  }
  return { ...env, npm_config_offline: "true", NO_COLOR: "1", ...extra };
}

/** Every AWS CLI on this machine, one per major version. */
export function awsClis(): Map<1 | 2, string> {
  const found = new Map<1 | 2, string>();
  const candidates = [
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "aws")),
    "/usr/bin/aws",
    "/usr/local/bin/aws",
  ];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    let version = "";
    try {
      version = execFileSync(candidate, ["--version"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      version = String((error as { stdout?: string; stderr?: string }).stderr ?? "");
    }
    const major = /aws-cli\/(\d+)\./.exec(version)?.[1];
    if ((major === "1" || major === "2") && !found.has(Number(major) as 1 | 2)) {
      found.set(Number(major) as 1 | 2, candidate);
    }
  }
  return found;
}

/**
 * The environment for running `aws` as the given binary: a fresh terminal's, with `aws` on the
 * PATH being that binary, and no AWS configuration or credentials files of this machine's.
 * Returns the directory to remove afterwards.
 */
export function awsCliEnv(binary: string): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "aws-cli-"));
  symlinkSync(binary, join(dir, "aws"));
  return {
    dir,
    env: readerEnv({
      PATH: `${dir}${delimiter}${process.env.PATH ?? ""}`,
      AWS_CONFIG_FILE: join(dir, "no-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_PAGER: "",
    }),
  };
}

/**
 * An `aws sqs` command that an AWS CLI still sending SQS's query protocol ran against the local
 * emulator, which refuses it with a message saying so (the README says which CLIs do that).
 */
export function refusedQueryProtocol(result: CommandResult): boolean {
  const output = result.stdout + result.stderr;
  return (
    /(^|\n)\s*aws sqs /.test(result.command) &&
    /UnsupportedProtocol/.test(output) &&
    output.includes("AWS JSON protocols only")
  );
}

/** The connection id of an open socket, as `trace-stream connections` lists it. */
export async function connectionOf(
  subscriber: { readonly socket: { readonly url: string } },
  env: Record<string, string>,
): Promise<string> {
  const trace = new URL(subscriber.socket.url).searchParams.get("traceId") as string;
  const listed = await runCli(["connections", trace, "--json"], { env });
  const id = (JSON.parse(listed.stdout) as { connections: Array<{ connection_id: string }> }).connections[0]
    ?.connection_id;
  if (id === undefined)
    throw new Error(`no connection listed for ${trace}: ${listed.stdout}${listed.stderr}`);
  return id;
}
