/**
 * The AWS CLI commands the dev server's banner prints, run as printed under each AWS CLI major
 * this machine has (see test/cli/readme.test.ts for which, and REQUIRE_AWS_CLI). The only change:
 * `<id>` becomes the id of a socket this test opens.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../local/dev-server.js";
import {
  awsCliEnv,
  awsClis,
  commands,
  connectionOf,
  refusedQueryProtocol,
  runBlock,
} from "../cli/shell-commands.js";
import { openSubscriber, type Subscriber } from "../helpers/local-stack.js";

const clis = awsClis();

/** The banner's AWS CLI lines, as a reader copies them (without the banner's indentation). */
function bannerCommands(banner: string): string[] {
  const start = banner.indexOf("AWS CLI, v1 or v2");
  const section = banner.slice(banner.indexOf("\n", start) + 1, banner.indexOf("\n\n", start));
  return commands(
    section
      .split("\n")
      .map((line) => line.replace(/^ {2}/, ""))
      .join("\n"),
  );
}

describe.runIf(clis.size > 0)("the dev server banner's AWS CLI commands", () => {
  let server: DevServer;
  let watcher: Subscriber;

  beforeAll(async () => {
    server = await startDevServer({
      ports: { webSocket: 0, eventBridge: 0, dynamodb: 0, tokenApi: 0 },
      quiet: true,
      sweepIntervalMs: 0,
      viewer: false,
    });
    // The banner's own connect URL: its socket is the one `<id>` addresses.
    watcher = await openSubscriber(server.stack.connectUrl(server.demoTraceId, server.demoToken));
  });

  afterAll(async () => {
    await watcher?.close();
    await server?.stop();
  });

  it.each([1, 2].filter((major) => clis.has(major as 1 | 2)))(
    "run as printed under AWS CLI v%i: the event is delivered to the banner's trace, the post reaches the socket",
    async (major) => {
      const env = {
        TRACE_STREAM_URL: server.stack.endpoints.webSocketUrl,
        TRACE_STREAM_DYNAMODB_ENDPOINT: server.stack.endpoints.dynamodb,
        TRACE_STREAM_TABLE: server.stack.tableName,
        TRACE_STREAM_CONNECTIONS_ENDPOINT: server.stack.endpoints.managementEndpoint,
      };
      const connectionId = await connectionOf(watcher, env);
      const list = bannerCommands(server.banner).map((command) => command.replaceAll("<id>", connectionId));
      expect(list.map((command) => command.split(" ").slice(0, 3).join(" "))).toEqual([
        "export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
        "aws events put-events",
        "aws dynamodb scan",
        'printf \'{"type":"pong"}\' |',
        "aws sqs receive-message",
      ]);
      const aws = awsCliEnv(clis.get(major as 1 | 2) as string);
      try {
        // The banner passes --region on each command: no region variable is set here.
        const before = watcher.messages.length;
        const { results } = await runBlock(list, { env: aws.env, timeoutMs: 120_000 });
        for (const result of results) {
          if (refusedQueryProtocol(result)) continue;
          expect(result.code, `${result.command}\n${result.stdout}\n${result.stderr}`).toBe(0);
        }
        expect(JSON.parse(results[1]?.stdout ?? "{}")).toMatchObject({ FailedEntryCount: 0 });
        const frames = () =>
          watcher.messages.slice(before).map((raw) => JSON.parse(raw) as Record<string, unknown>);
        await watcher.waitFor(() => frames().some((frame) => frame.type === "pong"));
        await watcher.waitFor(() =>
          frames().some((frame) => frame.type === "event" && frame.trace_id === server.demoTraceId),
        );
        await server.stack.deliveriesIdle();
        expect(server.stack.deadLetters()).toEqual([]);
      } finally {
        rmSync(aws.dir, { recursive: true, force: true });
      }
    },
    150_000,
  );

  it.each([1, 2].filter((major) => clis.has(major as 1 | 2)))(
    "under AWS CLI v%i, the printed post sends a connection id that starts with '-' (ids are base64url) instead of reading it as an option",
    async (major) => {
      const printed = bannerCommands(server.banner);
      const credentials = printed.find((command) => command.startsWith("export AWS_ACCESS_KEY_ID"));
      const post = printed
        .find((command) => command.includes("post-to-connection"))
        ?.replaceAll("<id>", "-cGtnwj3xqU_lL8=");
      expect(credentials).toBeDefined();
      expect(post).toBeDefined();
      const aws = awsCliEnv(clis.get(major as 1 | 2) as string);
      try {
        const { results } = await runBlock([credentials as string, post as string], {
          env: aws.env,
          timeoutMs: 60_000,
        });
        const result = results[1];
        // Sent: the emulator answers Gone for an id it does not know, as API Gateway does.
        expect(`${result?.stdout}${result?.stderr}`).toContain("GoneException");
        expect(result?.stderr).not.toContain("expected one argument");
      } finally {
        rmSync(aws.dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});

// Without any AWS CLI the block above does not run; say so rather than pass silently.
if (clis.size === 0) {
  console.warn(
    "dev banner test: no AWS CLI found, so its commands are not run (see test/cli/readme.test.ts)",
  );
}
