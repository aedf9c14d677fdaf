import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES, OPTIONAL_FUNCTION_NAMES } from "../../lib/function-names.js";
import { buildPackage, PACKAGES, type PackageSpec } from "../../scripts/build-packages.js";
import { startTestStack, type TestStack } from "../helpers/local-stack.js";

/**
 * What people install: each package is built and packed as `npm publish` would, and its tarball
 * installed into fresh projects outside the repository (other dependencies from the registry),
 * where plain Node, CommonJS and a strict TypeScript compiler use it.
 */
const run = promisify(execFile);
const TSC = join(process.cwd(), "node_modules", "typescript", "bin", "tsc");
const INSTALL = [
  "install",
  "--prefer-offline",
  "--no-audit",
  "--no-fund",
  "--ignore-scripts",
  "--loglevel=error",
];

interface Packed {
  readonly spec: PackageSpec;
  readonly tarball: string;
  readonly files: readonly string[];
  readonly size: number;
  readonly manifest: Record<string, unknown>;
}

let temp: string;
const packed = new Map<string, Packed>();
let app: string;
let commonJsApp: string;
let cdkApp: string;
let cliApp: string;
let viteApp: string;
let otelApp: string;

async function npm(cwd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run("npm", [...args], { cwd, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function project(name: string, type: "module" | "commonjs"): string {
  const dir = join(temp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type }));
  return dir;
}

function tarball(dir: string): string {
  const found = packed.get(dir);
  if (found === undefined) throw new Error(`${dir} was not packed`);
  return found.tarball;
}

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), "trace-stream-packages-"));
  for (const spec of PACKAGES) {
    const out = await buildPackage(spec);
    const [report] = JSON.parse(
      await npm(out, ["pack", "--json", "--ignore-scripts", "--pack-destination", temp]),
    ) as { filename: string; size: number; files: { path: string }[] }[];
    if (report === undefined) throw new Error(`npm pack reported nothing for ${spec.name}`);
    packed.set(spec.dir, {
      spec,
      tarball: join(temp, report.filename),
      files: report.files.map((file) => file.path),
      size: report.size,
      manifest: JSON.parse(readFileSync(join(out, "package.json"), "utf8")) as Record<string, unknown>,
    });
  }
  app = project("node-app", "module");
  await npm(app, [
    ...INSTALL,
    tarball("client"),
    tarball("producer"),
    "ws@8.23.0",
    "@types/ws@8.18.2",
    "@types/node@20.19.43",
  ]);
  commonJsApp = project("commonjs-app", "commonjs");
  cdkApp = project("cdk-app", "module");
  cliApp = project("cli-app", "module");
  viteApp = project("vite-app", "module");
  otelApp = project("otel-app", "module");
  await Promise.all([
    // The OpenTelemetry bridge's optional peers, installed only where the bridge is used.
    npm(otelApp, [
      ...INSTALL,
      tarball("producer"),
      "@types/node@20.19.43",
      "@opentelemetry/api@1.9.1",
      "@opentelemetry/sdk-trace-base@2.12.1",
    ]),
    // As the stock Vite react-ts template has them, at the versions this repository tests with.
    npm(viteApp, [
      ...INSTALL,
      tarball("client"),
      "vite@8.3.8",
      "@vitejs/plugin-react@6.3.0",
      "react@19.3.1",
      "react-dom@19.3.1",
      "@types/react@19.3.0",
      "@types/react-dom@19.3.0",
      "typescript@5.9.3",
    ]),
    npm(cliApp, [...INSTALL, tarball("cli")]),
    npm(commonJsApp, [...INSTALL, tarball("client")]),
    npm(cdkApp, [...INSTALL, tarball("cdk"), "aws-cdk-lib@2.276.0", "constructs@10.8.1"]),
  ]);
}, 300_000);

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

describe("package manifests and tarballs", () => {
  it.each(PACKAGES.map((spec) => [spec.name, spec.dir]))(
    "%s exports compiled JavaScript with declarations, and packs nothing of the repository's tooling",
    (_name, dir) => {
      const { manifest, files } = packed.get(dir)!;
      expect(manifest.private).toBeUndefined();
      expect(manifest.sideEffects).toBe(false);
      expect(manifest.engines).toEqual({ node: ">=20.19" });
      const targets = JSON.stringify(manifest.exports);
      expect(targets).not.toMatch(/(?<!\.d)\.ts"/);
      expect(files.some((file) => file.endsWith(".d.ts"))).toBe(true);
      expect(files.filter((file) => /^(test|bench|scripts|examples|python|docs)\//.test(file))).toEqual([]);
      // The local stack and the viewer belong to the CLI only (the construct's compiled handler
      // configuration, lambdas/shared/env-names.js, is its own code).
      if (dir !== "cli") expect(files.filter((file) => /^(web|local)\//.test(file))).toEqual([]);
      expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    },
  );

  it("the client has no runtime dependencies and React only as an optional peer", () => {
    const { manifest } = packed.get("client")!;
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependencies).toEqual({ react: ">=18" });
    expect(manifest.peerDependenciesMeta).toEqual({ react: { optional: true } });
  });

  it("the CDK construct takes aws-cdk-lib and constructs as peers, depends on zod alone, and ships every handler bundled", () => {
    const { manifest, files } = packed.get("cdk")!;
    expect(Object.keys(manifest.dependencies as object)).toEqual(["zod"]);
    expect(Object.keys(manifest.peerDependencies as object).sort()).toEqual(["aws-cdk-lib", "constructs"]);
    const bundles = files.filter((file) => /^lambda-bundles\/[a-z-]+\/index\.mjs$/.test(file));
    expect(bundles).toHaveLength(FUNCTION_NAMES.length + OPTIONAL_FUNCTION_NAMES.length);
  });

  it("the producer depends on the EventBridge client and zod only, OpenTelemetry optional peers of its ./otel subpath", () => {
    const { manifest } = packed.get("producer")!;
    expect(Object.keys(manifest.dependencies as object).sort()).toEqual([
      "@aws-sdk/client-eventbridge",
      "zod",
    ]);
    expect(Object.keys(manifest.exports as object)).toContain("./otel");
    expect(Object.keys(manifest.peerDependenciesMeta as object).sort()).toEqual([
      "@opentelemetry/api",
      "@opentelemetry/sdk-trace-base",
    ]);
  });

  it.each(PACKAGES.map((spec) => [spec.name, spec.dir]))(
    "%s carries the licence and the repository it is built from",
    (_name, dir) => {
      const { manifest, files } = packed.get(dir)!;
      expect(manifest.license).toBe("MIT");
      expect(manifest.repository).toMatchObject({ type: "git", url: expect.stringMatching(/^git\+https:/) });
      expect(files).toContain("LICENSE");
    },
  );
});

describe("the CDK construct from its tarball", () => {
  it("a separate CDK app synthesizes TraceStreamApi with no esbuild installed, its functions from the prebuilt bundles", async () => {
    writeFileSync(
      join(cdkApp, "synth.mjs"),
      `
import { createRequire } from "node:module";
import { App, Stack } from "aws-cdk-lib";
import { TraceStreamApi } from "@trace-stream/cdk";

let esbuild = "absent";
try { createRequire(import.meta.url).resolve("esbuild"); esbuild = "installed"; } catch {}
const app = new App({ outdir: "cdk.out" });
const stack = new Stack(app, "Traces", { env: { account: "111111111111", region: "eu-west-1" } });
new TraceStreamApi(stack, "Api");
const template = app.synth().getStackByName("Traces").template;
const functions = Object.values(template.Resources).filter((resource) => resource.Type === "AWS::Lambda::Function");
console.log(JSON.stringify({ esbuild, functions: functions.map((f) => [f.Properties.Handler, f.Properties.Runtime, typeof f.Properties.Code.S3Key]) }));
`,
    );
    const { stdout } = await run(process.execPath, ["synth.mjs"], { cwd: cdkApp, timeout: 90_000 });
    const result = JSON.parse(stdout) as { esbuild: string; functions: [string, string, string][] };
    expect(result.esbuild).toBe("absent");
    expect(result.functions.length).toBeGreaterThanOrEqual(FUNCTION_NAMES.length);
    for (const [handler, runtime, key] of result.functions.filter(([h]) => h === "index.handler")) {
      expect([handler, runtime, key]).toEqual(["index.handler", "nodejs24.x", "string"]);
    }
    expect(result.functions.filter(([handler]) => handler === "index.handler")).toHaveLength(
      FUNCTION_NAMES.length,
    );
  }, 120_000);
});

describe("the CLI from its tarball", () => {
  const cli = () => join(cliApp, "node_modules", ".bin", "trace-stream");

  it("answers --version and --help from compiled JavaScript", async () => {
    const version = await run(cli(), ["--version"], { cwd: cliApp });
    expect(version.stdout.trim()).toBe(`trace-stream ${packed.get("cli")!.manifest.version}`);
    const help = await run(cli(), ["--help"], { cwd: cliApp });
    expect(help.stdout).toMatch(/Usage: trace-stream <command>/);
    expect(
      packed.get("cli")!.files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts")),
    ).toEqual([]);
  });

  it("dev serves the packed viewer build and the local stack", async () => {
    const child = spawn(
      cli(),
      [
        "dev",
        "--websocket-port",
        "0",
        "--eventbridge-port",
        "0",
        "--dynamodb-port",
        "0",
        "--viewer-port",
        "0",
      ],
      { cwd: cliApp, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let output = "";
      const viewer = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /Viewer\s+(http:\/\/\S+)/.exec(output);
          if (match?.[1]) resolve(match[1]);
        });
        child.on("exit", (code) => reject(new Error(`dev exited (${code}): ${output}`)));
      });
      const page = await fetch(viewer);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root">|<script/);
    } finally {
      child.kill("SIGTERM");
    }
  }, 60_000);
});

describe("installed from the tarballs", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ now: Date.now });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("Node ESM without TypeScript: a watcher with TraceStreamClient and ws sees a producer's events in order", async () => {
    const traceId = `packaged-${Date.now()}`;
    writeFileSync(
      join(app, "watch-and-publish.mjs"),
      `
import WebSocket from "ws";
import { TraceStreamClient } from "@trace-stream/client";
import { createTrace } from "@trace-stream/producer";

const { URL: url, TOKEN: token, TRACE_ID: traceId, ENDPOINT: endpoint, BUS: busName, SOURCE: source } = process.env;
const client = new TraceStreamClient({ url, token, traceId, WebSocket });
const seen = [];
const ended = new Promise((resolve) => client.on("event", (event) => {
  seen.push([event.seq, event.event]);
  if (event.event === "plan_completed") resolve();
}));
const live = new Promise((resolve) => client.on("state", (state) => state.status === "live" && resolve()));
client.connect();
await live;
const trace = createTrace({ traceId, endpoint, busName, source, region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" } });
trace.plan({ goal: "answer", steps: 2 });
const call = trace.toolCall("search", { domain: "web" });
call.complete();
trace.route({ agent: "writer", reason: "draft" });
trace.complete({ steps_completed: 2 });
await trace.close();
await ended;
client.disconnect();
console.log(JSON.stringify(seen));
`,
    );
    const token = await stack.mintToken(traceId);
    const { stdout } = await run(process.execPath, ["watch-and-publish.mjs"], {
      cwd: app,
      timeout: 30_000,
      env: {
        ...process.env,
        URL: stack.endpoints.webSocketUrl,
        TOKEN: token,
        TRACE_ID: traceId,
        ENDPOINT: stack.endpoints.eventBridge,
        BUS: stack.busName,
        SOURCE: stack.source,
      },
    });
    expect(JSON.parse(stdout)).toEqual([
      [0, "plan_created"],
      [1, "tool_call_start"],
      [2, "tool_call_complete"],
      [3, "route_decision"],
      [4, "plan_completed"],
    ]);
  });

  it("CommonJS: require of the client gives the client, its errors and helpers", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "-e",
        `const c = require("@trace-stream/client");
         console.log(JSON.stringify([typeof c.TraceStreamClient, typeof c.TraceStreamError, c.isTerminal({ event: "plan_failed" })]));`,
      ],
      { cwd: commonJsApp },
    );
    expect(JSON.parse(stdout)).toEqual(["function", "function", true]);
  });

  it.each(["node16", "bundler"])(
    "TypeScript (moduleResolution %s, strict, exactOptionalPropertyTypes, erasableSyntaxOnly, no skipLibCheck, no DOM lib) compiles a watcher and a producer, with no OpenTelemetry installed",
    async (resolution) => {
      writeFileSync(
        join(app, "consumer.ts"),
        `
import WebSocket from "ws";
import { TraceStreamClient, type ReceivedTraceEvent, type TraceStreamState } from "@trace-stream/client";
import { createTrace } from "@trace-stream/producer";
import { type TraceEvent, TraceEvent as TraceEventSchema } from "@trace-stream/producer/protocol";

const token: string | undefined = process.env.TOKEN;
const client = new TraceStreamClient({ url: "ws://localhost:1", traceId: "t", token, WebSocket });
client.on("event", (event: ReceivedTraceEvent) => console.log(event.seq));
client.on("state", (state: TraceStreamState) => console.log(state.status));
const trace = createTrace({ endpoint: process.env.ENDPOINT });
const first: TraceEvent = trace.plan({ goal: "answer" });
console.log(TraceEventSchema.safeParse(first).success);
`,
      );
      const module = resolution === "node16" ? "node16" : "esnext";
      writeFileSync(
        join(app, `tsconfig.${resolution}.json`),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            lib: ["ES2023"],
            module,
            moduleResolution: resolution,
            types: ["node"],
            strict: true,
            exactOptionalPropertyTypes: true,
            erasableSyntaxOnly: true,
            skipLibCheck: false,
            noEmit: true,
          },
          files: ["consumer.ts"],
        }),
      );
      const result = await run(process.execPath, [TSC, "-p", `tsconfig.${resolution}.json`], {
        cwd: app,
      }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      expect(result.stdout).toBe("");
    },
    120_000,
  );

  it("the OpenTelemetry bridge: its subpath loads and type-checks strictly with the peers installed", async () => {
    writeFileSync(
      join(otelApp, "bridge.ts"),
      `
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { OTEL_SPAN_MAPPING, TraceStreamSpanProcessor } from "@trace-stream/producer/otel";

const processor = new TraceStreamSpanProcessor({ endpoint: process.env.ENDPOINT, onError: (error) => console.error(error) });
const provider = new BasicTracerProvider({ spanProcessors: [processor] });
console.log(OTEL_SPAN_MAPPING.length, typeof provider.getTracer);
`,
    );
    writeFileSync(
      join(otelApp, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023"],
          module: "node16",
          moduleResolution: "node16",
          types: ["node"],
          strict: true,
          exactOptionalPropertyTypes: true,
          erasableSyntaxOnly: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["bridge.ts"],
      }),
    );
    const result = await run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: otelApp }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    );
    expect(result.stdout).toBe("");
    const loaded = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const m = await import("@trace-stream/producer/otel"); console.log(typeof m.TraceStreamSpanProcessor, m.OTEL_SPAN_MAPPING.length);',
      ],
      { cwd: otelApp },
    );
    expect(loaded.stdout.trim()).toBe("function 5");
  }, 120_000);

  it("a Vite + React + TypeScript app using useTraceStream builds: tsc -b (the template's strict flags) and vite build", async () => {
    mkdirSync(join(viteApp, "src"));
    writeFileSync(
      join(viteApp, "index.html"),
      '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>',
    );
    writeFileSync(
      join(viteApp, "vite.config.ts"),
      'import react from "@vitejs/plugin-react";\nimport { defineConfig } from "vite";\nexport default defineConfig({ plugins: [react()] });\n',
    );
    writeFileSync(
      join(viteApp, "src", "main.tsx"),
      [
        'import { createRoot } from "react-dom/client";',
        'import { useTraceStream } from "@trace-stream/client/react";',
        "",
        "function Run({ traceId }: { traceId: string }) {",
        '  const { events, status, error } = useTraceStream(traceId, { url: "wss://example.test/prod", token: "t" });',
        "  return (",
        "    <div>",
        "      <p>{status} {error?.message}</p>",
        "      <ul>{events.map((event) => <li key={event.seq}>{event.seq}: {event.event}</li>)}</ul>",
        "    </div>",
        "  );",
        "}",
        "",
        'const root = document.getElementById("root");',
        'if (root) createRoot(root).render(<Run traceId="run-1" />);',
        "",
      ].join("\n"),
    );
    // The flags of Vite's react-ts template, plus exactOptionalPropertyTypes; skipLibCheck off.
    writeFileSync(
      join(viteApp, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          module: "ESNext",
          moduleResolution: "bundler",
          jsx: "react-jsx",
          strict: true,
          noEmit: true,
          verbatimModuleSyntax: true,
          erasableSyntaxOnly: true,
          exactOptionalPropertyTypes: true,
          noUnusedLocals: true,
          noUnusedParameters: true,
          skipLibCheck: false,
          types: [],
        },
        include: ["src"],
      }),
    );
    const tsc = await run(
      process.execPath,
      [join(viteApp, "node_modules", "typescript", "bin", "tsc"), "-b"],
      {
        cwd: viteApp,
      },
    ).catch((error: { stdout?: string; message: string }) => ({ stdout: error.stdout ?? error.message }));
    expect(tsc.stdout).toBe("");
    await run(process.execPath, [join(viteApp, "node_modules", "vite", "bin", "vite.js"), "build"], {
      cwd: viteApp,
      timeout: 120_000,
    });
    const assets = readdirSync(join(viteApp, "dist", "assets"));
    expect(assets.some((file) => file.endsWith(".js"))).toBe(true);
  }, 180_000);
});
