import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as client from "../../client/index.js";
import * as react from "../../client/react.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every module reachable from `entry` through relative imports, with its bare imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const visit = (file: string) => {
    if (graph.has(file)) return;
    const source = readFileSync(file, "utf8");
    const specifiers = [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)].map(
      (match) => match[1] ?? "",
    );
    graph.set(
      file,
      specifiers.filter((specifier) => !specifier.startsWith(".")),
    );
    for (const specifier of specifiers.filter((s) => s.startsWith("."))) {
      visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
    }
  };
  visit(resolve(root, entry));
  return graph;
}

describe("package entry points", () => {
  it("trace-stream/client exports the clients, the error class and helpers", () => {
    expect(Object.keys(client).sort()).toEqual(
      [
        "RunsClient",
        "byNewest",
        "isStalled",
        "laterRun",
        "matchesRunsFilter",
        "TERMINAL_EVENTS",
        "TraceStreamClient",
        "TraceStreamError",
        "browserPageSignals",
        "isKnownEvent",
        "isTerminal",
      ].sort(),
    );
  });

  it("trace-stream/react exports the hooks", () => {
    expect(Object.keys(react)).toEqual(["useTraceStream", "useRuns"]);
  });

  it("the core client imports no package at all: not react, not zod, no Node built-in", () => {
    const bare = [...importGraph("client/index.ts").values()].flat();
    expect(bare).toEqual([]);
  });
});
