/**
 * Builds the packages people install from this repository's source, into dist/packages/<dir>/:
 * compiled ES modules and `.d.ts` (tsc), a CommonJS bundle where `require` is supported (esbuild),
 * and a package.json that declares only what that package's own code imports. The repository
 * itself keeps running from source (`npm start`, `npm test`); nothing here changes that.
 *
 *   npx tsx scripts/build-packages.ts [client|producer ...]
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { FUNCTION_NAMES, OPTIONAL_FUNCTION_NAMES } from "../lib/function-names.js";
import { ESBUILD_TARGET, ESM_REQUIRE_BANNER, PREBUILT_BUNDLES_DIR } from "../lib/trace-stream-api.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const PACKAGES_DIR = join(root, "dist", "packages");

interface RootManifest {
  readonly version: string;
  readonly engines: Readonly<Record<string, string>>;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly license?: string;
  readonly repository?: unknown;
  readonly homepage?: string;
  readonly bugs?: unknown;
}
const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as RootManifest;

interface Entry {
  /** The subpath in `exports` ("." or "./react"). */
  readonly subpath: string;
  /** The source file, relative to the repository. */
  readonly source: string;
  /** Also bundled to CommonJS for `require`. */
  readonly commonJs?: boolean;
}

export interface PackageSpec {
  readonly dir: string;
  readonly name: string;
  readonly description: string;
  readonly entries: readonly Entry[];
  /** Runtime dependencies, by name; versions come from the repository's package.json. */
  readonly dependencies: readonly string[];
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly optionalPeers?: readonly string[];
  /** Files copied as they are: [from (repository), to (package)], each also exported at `subpath`. */
  readonly assets?: readonly { readonly from: string; readonly to: string; readonly subpath: string }[];
  /** Packages the CommonJS bundle leaves to `require`. */
  readonly external?: readonly string[];
  /** Ships every Lambda handler prebuilt (the CDK construct). */
  readonly lambdaBundles?: boolean;
  /** Modules started as processes of their own (forked, not imported), compiled like the entries. */
  readonly processes?: readonly string[];
  /** Declarations the program needs besides its entries' imports. */
  readonly declarations?: readonly string[];
  /** The CLI shares the viewer's configuration code, typed against the DOM. @default ["ES2023"] */
  readonly lib?: readonly string[];
  /** Ships the viewer's static build (web/dist) and a `bin` (the CLI). */
  readonly bin?: { readonly name: string; readonly source: string };
  readonly readme: string;
}

export const PACKAGES: readonly PackageSpec[] = [
  {
    dir: "client",
    name: "@trace-stream/client",
    description: "Watch a trace-stream run live: the subscriber client and its React hook, no dependencies.",
    entries: [
      { subpath: ".", source: "client/index.ts", commonJs: true },
      { subpath: "./react", source: "client/react.ts", commonJs: true },
    ],
    dependencies: [],
    peerDependencies: { react: ">=18" },
    optionalPeers: ["react"],
    external: ["react"],
    readme: [
      "# @trace-stream/client",
      "",
      "Subscribe to a trace-stream run from a browser, Node (>= 20, with `ws`) or any runtime with a",
      "global `WebSocket`. Every event once, in seq order, across reconnects.",
      "",
      "```js",
      'import { TraceStreamClient } from "@trace-stream/client";',
      'import { useTraceStream } from "@trace-stream/client/react";',
      "```",
      "",
    ].join("\n"),
  },
  {
    dir: "producer",
    name: "@trace-stream/producer",
    description:
      "Publish an AI agent run's events to trace-stream (EventBridge), with the protocol and JSON Schema.",
    entries: [
      { subpath: ".", source: "client/producer.ts" },
      { subpath: "./protocol", source: "protocol/index.ts" },
      // Its own subpath, so the main entry's declarations never name OpenTelemetry's types.
      { subpath: "./otel", source: "client/otel.ts" },
    ],
    assets: [{ from: "schema/trace-event.schema.json", to: "trace-event.schema.json", subpath: "./schema" }],
    dependencies: ["@aws-sdk/client-eventbridge", "zod"],
    // The OpenTelemetry bridge (`./otel`) is typed against these; only its users need them.
    peerDependencies: { "@opentelemetry/api": "^1.9.0", "@opentelemetry/sdk-trace-base": ">=2" },
    optionalPeers: ["@opentelemetry/api", "@opentelemetry/sdk-trace-base"],
    readme: [
      "# @trace-stream/producer",
      "",
      "Publish the events of an AI agent run to a trace-stream deployment's EventBridge bus, validated",
      "against the TraceEvent v1 schema. `@trace-stream/producer/protocol` holds the schemas and limits,",
      "`@trace-stream/producer/schema` the JSON Schema for other languages.",
      "",
      "```js",
      'import { createTrace } from "@trace-stream/producer";',
      "```",
      "",
    ].join("\n"),
  },
  {
    dir: "cdk",
    name: "@trace-stream/cdk",
    description:
      "The trace-stream WebSocket API as a CDK construct (TraceStreamApi), with its Lambda handlers prebuilt.",
    entries: [{ subpath: ".", source: "lib/trace-stream-api.ts" }],
    assets: [
      { from: "schema/trace-event.schema.json", to: "schema/trace-event.schema.json", subpath: "./schema" },
    ],
    // The token endpoint's policy is checked at synth with the protocol's zod schema.
    dependencies: ["zod"],
    peerDependencies: {
      "aws-cdk-lib": rootManifest.dependencies["aws-cdk-lib"] ?? "^2",
      constructs: rootManifest.dependencies.constructs ?? "^10",
    },
    lambdaBundles: true,
    readme: [
      "# @trace-stream/cdk",
      "",
      "The trace-stream WebSocket API as a construct. The Lambda handlers ship bundled, so `cdk synth`",
      "needs no esbuild, no lockfile and no Docker.",
      "",
      "```ts",
      'import { TraceStreamApi, TraceStreamAuth } from "@trace-stream/cdk";',
      'new TraceStreamApi(stack, "Traces", { auth: TraceStreamAuth.hs256() });',
      "```",
      "",
    ].join("\n"),
  },
  {
    dir: "cli",
    name: "trace-stream",
    description: "The trace-stream CLI and local stack: dev, demo, tail, emit, token, connections, schema.",
    entries: [{ subpath: ".", source: "local/index.ts" }],
    bin: { name: "trace-stream", source: "bin/trace-stream.ts" },
    processes: ["local/dynalite-process.ts"],
    declarations: ["local/dynalite.d.ts"],
    lib: ["ES2023", "DOM"],
    dependencies: [
      "@aws-lambda-powertools/logger",
      "@aws-lambda-powertools/metrics",
      "@aws-sdk/client-apigatewaymanagementapi",
      "@aws-sdk/client-dynamodb",
      "@aws-sdk/client-eventbridge",
      "@aws-sdk/client-secrets-manager",
      "@aws-sdk/client-sqs",
      "@aws-sdk/lib-dynamodb",
      "dynalite",
      "jose",
      "ws",
      "zod",
    ],
    readme: [
      "# trace-stream",
      "",
      "The trace-stream CLI: `trace-stream dev` runs the whole system (local API Gateway WebSocket,",
      "EventBridge, SQS, DynamoDB, the Lambda handlers and the viewer) on this machine.",
      "",
      "```sh",
      "npx trace-stream dev",
      "```",
      "",
    ].join("\n"),
  },
];

/**
 * Each handler bundled as `aws-lambda-nodejs` bundles it at synth in the repository (same format,
 * banner, target and minification; the AWS SDK bundled so its version is the tested one).
 */
async function bundleLambdas(out: string): Promise<void> {
  // The optional functions too (the token endpoint), so turning an option on needs no esbuild either.
  for (const name of [...FUNCTION_NAMES, ...OPTIONAL_FUNCTION_NAMES]) {
    await build({
      entryPoints: [join(root, "lambdas", name, "index.ts")],
      outfile: join(out, PREBUILT_BUNDLES_DIR, name, "index.mjs"),
      bundle: true,
      format: "esm",
      platform: "node",
      target: ESBUILD_TARGET,
      mainFields: ["module", "main"],
      banner: { js: ESM_REQUIRE_BANNER },
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      logLevel: "warning",
    });
  }
}

function js(source: string): string {
  return source.replace(/\.ts$/, ".js");
}

function dts(source: string): string {
  return source.replace(/\.ts$/, ".d.ts");
}

function cjs(subpath: string): string {
  return `cjs/${subpath === "." ? "index" : subpath.slice(2)}.cjs`;
}

export async function buildPackage(spec: PackageSpec): Promise<string> {
  const out = join(PACKAGES_DIR, spec.dir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // Compiled ES modules and declarations, the source tree's layout kept (client/, protocol/).
  const tsconfig = join(PACKAGES_DIR, `${spec.dir}.tsconfig.json`);
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        noEmit: false,
        declaration: true,
        outDir: out,
        rootDir: root,
        lib: spec.lib ?? ["ES2023"],
        types: ["node"],
        skipLibCheck: true,
        removeComments: false,
        stripInternal: true,
      },
      include: [],
      files: [
        ...[...spec.entries, ...(spec.bin ? [spec.bin] : [])].map((entry) => join(root, entry.source)),
        ...[...(spec.processes ?? []), ...(spec.declarations ?? [])].map((file) => join(root, file)),
      ],
    }),
  );
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", tsconfig], { stdio: "inherit" });

  const exportsMap: Record<string, unknown> = {};
  for (const entry of spec.entries) {
    if (entry.commonJs) {
      await build({
        entryPoints: [join(root, entry.source)],
        outfile: join(out, cjs(entry.subpath)),
        bundle: true,
        format: "cjs",
        platform: "neutral",
        target: "es2022",
        external: [...(spec.external ?? [])],
        logLevel: "warning",
      });
    }
    exportsMap[entry.subpath] = {
      types: `./${dts(entry.source)}`,
      import: `./${js(entry.source)}`,
      ...(entry.commonJs ? { require: `./${cjs(entry.subpath)}` } : {}),
    };
  }
  if (spec.lambdaBundles) await bundleLambdas(out);
  if (spec.bin) {
    const viewer = join(out, "web", "dist");
    execFileSync(
      join(root, "node_modules", ".bin", "vite"),
      [
        "build",
        "--config",
        join(root, "web", "vite.config.ts"),
        "--outDir",
        viewer,
        "--emptyOutDir",
        "--logLevel",
        "warn",
      ],
      { stdio: "inherit", cwd: root },
    );
    const entry = join(out, js(spec.bin.source));
    writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, "utf8")}`);
  }
  for (const asset of spec.assets ?? []) {
    mkdirSync(dirname(join(out, asset.to)), { recursive: true });
    copyFileSync(join(root, asset.from), join(out, asset.to));
    exportsMap[asset.subpath] = `./${asset.to}`;
  }
  exportsMap["./package.json"] = "./package.json";

  const dependencies = Object.fromEntries(
    spec.dependencies.map((name) => {
      const version = rootManifest.dependencies[name];
      if (version === undefined)
        throw new Error(`${spec.name}: ${name} is not a dependency of the repository`);
      return [name, version];
    }),
  );
  const first = spec.entries[0];
  if (first === undefined) throw new Error(`${spec.name} has no entry`);
  const manifest = {
    name: spec.name,
    version: rootManifest.version,
    description: spec.description,
    type: "module",
    ...(rootManifest.license ? { license: rootManifest.license } : {}),
    ...(rootManifest.repository ? { repository: rootManifest.repository } : {}),
    ...(rootManifest.homepage ? { homepage: rootManifest.homepage } : {}),
    ...(rootManifest.bugs ? { bugs: rootManifest.bugs } : {}),
    engines: rootManifest.engines,
    sideEffects: false,
    main: `./${first.commonJs ? cjs(first.subpath) : js(first.source)}`,
    module: `./${js(first.source)}`,
    types: `./${dts(first.source)}`,
    ...(spec.bin ? { bin: { [spec.bin.name]: js(spec.bin.source) } } : {}),
    exports: exportsMap,
    // Everything built here (README and LICENSE npm adds by itself).
    files: readdirSync(out).sort(),
    ...(Object.keys(dependencies).length > 0 ? { dependencies } : {}),
    ...(spec.peerDependencies ? { peerDependencies: spec.peerDependencies } : {}),
    ...(spec.optionalPeers
      ? {
          peerDependenciesMeta: Object.fromEntries(
            spec.optionalPeers.map((name) => [name, { optional: true }]),
          ),
        }
      : {}),
  };
  writeFileSync(join(out, "README.md"), spec.readme);
  if (existsSync(join(root, "LICENSE"))) copyFileSync(join(root, "LICENSE"), join(out, "LICENSE"));
  writeFileSync(join(out, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  for (const spec of PACKAGES.filter((spec) => wanted.length === 0 || wanted.includes(spec.dir))) {
    const out = await buildPackage(spec);
    console.log(`built ${spec.name} in ${out}`);
  }
}
