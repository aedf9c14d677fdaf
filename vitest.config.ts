import { defineConfig } from "vitest/config";

/**
 * Tests that hold the machine's load for tens of seconds and assert on what a loaded stack still
 * delivers. They run last and one at a time, after every other file, so that neither they nor the
 * rest of the suite decide each other's outcome by competing for the two cores.
 */
const ALONE = [
  "test/soak/**/*.test.ts",
  "test/attacks/floods.test.ts",
  "test/attacks/crash-restart.test.ts",
  "test/attacks/crash-restart-stream.test.ts",
];

/**
 * End-to-end suites run a second time with the coalesced fan-out (`fanOut: "stream"`): ordering,
 * exactly-once display, the runs list, failed posts and redaction must hold in both modes.
 */
const BOTH_MODES = [
  "test/local/end-to-end.test.ts",
  "test/local/runs-list.test.ts",
  "test/client/subscriber-local-stack.test.ts",
  "test/faults/failed-posts.test.ts",
  "test/faults/stale-subscriptions.test.ts",
  "test/attacks/corpus-secrets.test.ts",
];

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
        test: {
          name: "stream-mode",
          include: BOTH_MODES,
          env: { TRACE_STREAM_TEST_FAN_OUT: "stream" },
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
