/**
 * The Python package's pytest suite (python/tests), run from `npm test` so the README's one test
 * command covers it. It needs python3 with boto3 and pytest; without them it is skipped with a
 * warning, unless REQUIRE_PYTHON=1 (CI), where their absence fails.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = process.env.PYTHON ?? "python3";
const pythonRequired = process.env.REQUIRE_PYTHON === "1";

function probe(): string | undefined {
  const result = spawnSync(PYTHON, ["-c", "import boto3, pytest"], { encoding: "utf8" });
  if (result.error !== undefined) return `${PYTHON} is not installed (${result.error.message})`;
  if (result.status !== 0)
    return `${PYTHON} lacks boto3 or pytest: ${result.stderr.trim().split("\n").at(-1)}`;
  return undefined;
}

const missing = probe();
if (missing !== undefined && !pythonRequired) {
  console.warn(
    `Skipping the Python package's suite: ${missing}. Install python3-boto3 and python3-pytest ` +
      "(apt) or `pip install boto3 pytest`; REQUIRE_PYTHON=1 makes this a failure.",
  );
}

it.runIf(pythonRequired)("has python3 with boto3 and pytest (REQUIRE_PYTHON=1)", () => {
  expect(missing, `REQUIRE_PYTHON=1 but ${missing}`).toBeUndefined();
});

it.skipIf(missing !== undefined)(
  "passes the Python package's pytest suite against the local stack",
  async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(PYTHON, ["-m", "pytest", "python/tests", "-q", "-p", "no:cacheprovider", "-rs"], {
        cwd: REPO,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once("error", reject);
      child.once("close", (exitCode) => resolve({ code: exitCode, output }));
    });
    expect(code, `pytest failed:\n${output}`).toBe(0);
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/\d+ (failed|error)/);
  },
  600_000,
);
