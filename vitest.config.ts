import { defineConfig } from "vitest/config";

/**
 * Tests that hold the machine's load for tens of seconds and assert on what a loaded stack still
 * delivers. They run last and one at a time, after every other file, so that neither they nor the
 * rest of the suite decide each other's outcome by competing for the two cores.
 */
const ALONE = ["test/soak/**/*.test.ts", "test/attacks/floods.test.ts", "test/attacks/crash-restart.test.ts"];

export default defineConfig({
  test: {
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: parallel files share them with the local stacks the tests start.
    maxWorkers: 2,
    // The AWS SDK announces its Node 22 requirement on every client; Lambda runs Node 24 already.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
          exclude: ALONE,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "alone", include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
