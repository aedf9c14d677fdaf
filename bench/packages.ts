/**
 * `npm run bench:packages`: what each npm package costs the people who install it, measured in one
 * run: packed size, files, install footprint (the package with its production dependencies, into a
 * fresh project), the client's minified + gzip size in a Vite build, and the installed CLI's
 * `--help` start-up as a ratio to `node -e ''` (the floor: starting Node itself), timed alternately.
 *
 * Needs the npm registry (or its cache) for the packages' own dependencies, like test/packaging.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { buildPackage, PACKAGES } from "../scripts/build-packages.js";
import { median } from "./stats.js";

const run = promisify(execFile);
const INSTALL = [
  "install",
  "--prefer-offline",
  "--no-audit",
  "--no-fund",
  "--ignore-scripts",
  "--loglevel=error",
];
const START_RUNS = 30;

interface PackageRow {
  readonly name: string;
  readonly packedBytes: number;
  readonly unpackedBytes: number;
  readonly files: number;
  readonly installedBytes: number;
  readonly installedPackages: number;
}

function duBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) total += statSync(full).size;
    }
  }
  return total;
}

function project(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  return dir;
}

async function npm(cwd: string, args: readonly string[]): Promise<string> {
  return (await run("npm", [...args], { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Milliseconds per start of `file args`, `runs` times, alternating with the floor's command. */
async function startTimes(
  command: readonly string[],
  floor: readonly string[],
  cwd: string,
): Promise<{ command: number[]; floor: number[] }> {
  const times = { command: [] as number[], floor: [] as number[] };
  for (let index = 0; index < START_RUNS; index++) {
    for (const [key, argv] of [
      ["command", command],
      ["floor", floor],
    ] as const) {
      const [file, ...args] = argv;
      const started = performance.now();
      await run(file as string, args, { cwd });
      times[key].push(performance.now() - started);
    }
  }
  return times;
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), "trace-stream-package-bench-"));
  try {
    const rows: PackageRow[] = [];
    const tarballs = new Map<string, string>();
    for (const spec of PACKAGES) {
      const out = await buildPackage(spec);
      const [report] = JSON.parse(
        await npm(out, ["pack", "--json", "--ignore-scripts", "--pack-destination", temp]),
      ) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
      if (report === undefined) throw new Error(`npm pack reported nothing for ${spec.name}`);
      const tarball = join(temp, report.filename);
      tarballs.set(spec.dir, tarball);
      const installed = project(temp, `install-${spec.dir}`);
      await npm(installed, [...INSTALL, "--omit=dev", "--omit=peer", tarball]);
      const modules = join(installed, "node_modules");
      const lock = JSON.parse(readFileSync(join(installed, "package-lock.json"), "utf8")) as {
        packages: Record<string, unknown>;
      };
      rows.push({
        name: spec.name,
        packedBytes: report.size,
        unpackedBytes: report.unpackedSize,
        files: report.entryCount,
        installedBytes: duBytes(modules),
        installedPackages: Object.keys(lock.packages).filter((key) => key !== "").length,
      });
      process.stderr.write(`measured ${spec.name}\n`);
    }

    // The client alone in a Vite build: an app whose only code is a use of TraceStreamClient.
    const viteApp = project(temp, "vite-client");
    await npm(viteApp, [...INSTALL, tarballs.get("client") as string, "vite@8.3.8"]);
    writeFileSync(
      join(viteApp, "index.html"),
      '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>',
    );
    writeFileSync(
      join(viteApp, "main.js"),
      'import { TraceStreamClient } from "@trace-stream/client";\n' +
        'new TraceStreamClient({ url: "wss://example.test", traceId: "t" }).connect();\n',
    );
    await run(process.execPath, [join(viteApp, "node_modules", "vite", "bin", "vite.js"), "build"], {
      cwd: viteApp,
    });
    const assets = join(viteApp, "dist", "assets");
    const chunk = readdirSync(assets).find((file) => file.endsWith(".js"));
    if (chunk === undefined) throw new Error("vite build wrote no JavaScript chunk");
    const minified = readFileSync(join(assets, chunk));
    const gzip = gzipSync(minified, { level: 9 });

    // The installed CLI's --help against starting Node itself.
    const cliApp = project(temp, "cli-start");
    await npm(cliApp, [...INSTALL, tarballs.get("cli") as string]);
    const cli = join(cliApp, "node_modules", "trace-stream", "bin", "trace-stream.js");
    const times = await startTimes([process.execPath, cli, "--help"], [process.execPath, "-e", ""], cliApp);
    const help = median(times.command);
    const floor = median(times.floor);

    const lines = [
      "| package | packed | unpacked | files | installed (with dependencies) | packages installed |",
      "|---|---:|---:|---:|---:|---:|",
      ...rows.map(
        (row) =>
          `| ${row.name} | ${kB(row.packedBytes)} | ${kB(row.unpackedBytes)} | ${row.files} | ${MB(row.installedBytes)} | ${row.installedPackages} |`,
      ),
      "",
      `Client in a Vite build (the app's only code uses TraceStreamClient): ${kB(minified.length)} minified, ${kB(gzip.length)} gzip (target: under 10 kB gzip).`,
      "",
      `Installed CLI \`--help\`: median ${help.toFixed(0)} ms against \`node -e ''\` ${floor.toFixed(0)} ms, ${(help / floor).toFixed(2)}× (${START_RUNS} runs each, alternating).`,
      "",
    ];
    process.stdout.write(lines.join("\n"));
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
