import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { type DevServerOptions, runDevServer, startDevServer } from "../../local/dev-server.js";
import { closeServer } from "../../local/http-server.js";
import { PortInUseError } from "../../local/index.js";
import { TokenIssued } from "../../protocol/token-api.js";
import { openSubscriber } from "../helpers/local-stack.js";

const quietFreePorts: DevServerOptions = {
  ports: { webSocket: 0, eventBridge: 0, dynamodb: 0, tokenApi: 0 },
  quiet: true,
  sweepIntervalMs: 0,
  viewer: false,
};

describe("the dev server", () => {
  it("prints every endpoint, a working dev token with its connect URL, and AWS CLI commands", async () => {
    const server = await startDevServer(quietFreePorts);
    try {
      const { banner, stack } = server;
      for (const endpoint of Object.values(stack.endpoints)) expect(banner).toContain(endpoint);
      expect(banner).toContain(server.demoToken);
      expect(server.demoTraceId).toMatch(/^hello-[0-9a-f]{8}$/);
      const connectUrl = stack.connectUrl(server.demoTraceId, server.demoToken);
      expect(banner).toContain(connectUrl);
      expect(banner).toContain(`aws dynamodb scan --table-name ${stack.tableName}`);
      expect(banner).toContain(`--endpoint-url ${stack.endpoints.dynamodb} --region us-east-1`);
      expect(banner).toContain("aws events put-events --entries '");
      expect(banner).toContain(`--endpoint-url ${stack.endpoints.eventBridge}`);
      expect(banner).toContain(`--endpoint-url ${stack.endpoints.managementEndpoint}`);
      expect(banner).toContain(`aws sqs receive-message --queue-url ${stack.endpoints.deadLetterQueueUrl}`);
      // Flags both AWS CLI majors take: --region on each (v1 ignores AWS_REGION), raw bytes by fileb://.
      expect(banner).not.toContain("--cli-binary-format");
      expect(banner).toContain("--data fileb:///dev/stdin");
      for (const command of banner.split("\n  aws ").slice(1))
        expect(command).toContain("--region us-east-1");
      expect(banner).toContain("Data: in memory, gone when the stack stops (--data-dir DIR keeps it)");

      const subscriber = await openSubscriber(connectUrl);
      await subscriber.close();
    } finally {
      await server.stop();
      await server.stop();
    }
  });

  it("prints a put-events command whose entry the stack accepts and delivers", async () => {
    const server = await startDevServer(quietFreePorts);
    try {
      const entries = /--entries '([^']+)'/.exec(server.banner)?.[1] ?? "[]";
      const parsed = JSON.parse(entries) as Array<{ Detail: string }>;
      const response = await fetch(server.stack.endpoints.eventBridge, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSEvents.PutEvents" },
        body: JSON.stringify({ Entries: parsed }),
      });
      expect(await response.json()).toMatchObject({ FailedEntryCount: 0 });
      await server.stack.deliveriesIdle();
      expect(server.stack.deadLetters()).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("prints a curl command that gets a working token from the token endpoint with curl's own SigV4", async () => {
    const server = await startDevServer(quietFreePorts);
    try {
      const command = /^\s*(curl --aws-sigv4 .+)$/m.exec(server.banner)?.[1] ?? "";
      expect(command).toContain(server.stack.endpoints.tokenEndpoint);
      // The banner's command, run as a shell would split it (its arguments are double-quoted).
      const args = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? "");
      const output = await new Promise<string>((resolve, reject) =>
        execFile(
          args[0] ?? "curl",
          [...args.slice(1), "--silent", "--show-error"],
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      const { token, traces } = TokenIssued.parse(JSON.parse(output));
      // The token is for the banner's trace, a fresh id each start.
      expect(traces).toEqual([new URL(args.at(-1) ?? "").searchParams.get("traceId")]);
      const subscriber = await openSubscriber(server.stack.connectUrl(traces[0] ?? "", token));
      await subscriber.close();
    } finally {
      await server.stop();
    }
  });

  it("starts the viewer through its hook, lists its URL first, and closes it on stop", async () => {
    const calls: Array<{ host: string; port: number }> = [];
    let closed = false;
    const server = await startDevServer({
      ...quietFreePorts,
      viewerPort: 0,
      viewer: async ({ host, port }) => {
        calls.push({ host, port });
        return {
          url: "http://127.0.0.1:39999/",
          close: async () => {
            closed = true;
          },
        };
      },
    });
    await server.stop();
    expect(calls).toEqual([{ host: "127.0.0.1", port: 0 }]);
    expect(server.banner).toMatch(/Viewer\s+http:\/\/127\.0\.0\.1:39999\//);
    expect(server.banner).toContain(`http://127.0.0.1:39999/?traceId=${server.demoTraceId}`);
    expect(closed).toBe(true);
  });

  it("uses a fresh trace id at each start, so the printed put-events never conflicts with kept data", async () => {
    const first = await startDevServer(quietFreePorts);
    await first.stop();
    const second = await startDevServer(quietFreePorts);
    await second.stop();
    expect(second.demoTraceId).not.toBe(first.demoTraceId);
    expect(second.banner).toContain(`\\"trace_id\\":\\"${second.demoTraceId}\\"`);
  });

  it("says where the data is kept when it outlives the stack", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "trace-stream-data-"));
    try {
      const server = await startDevServer({ ...quietFreePorts, dataDir: relative(process.cwd(), dataDir) });
      await server.stop();
      expect(server.banner).toContain(`Data: kept in ${dataDir}`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("runs until its signal aborts, then stops cleanly", async () => {
    const controller = new AbortController();
    const printed: string[] = [];
    const running = runDevServer({
      ...quietFreePorts,
      signal: controller.signal,
      print: (text) => {
        printed.push(text);
        if (text.includes("Press Ctrl+C")) controller.abort();
      },
    });
    await running;
    expect(printed.join("")).toMatch(/Press Ctrl\+C to stop\.[\s\S]*Stopped\./);
  });

  it("reports a port in use with the service and port, and leaves nothing running", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const failure = await runDevServer({
        ...quietFreePorts,
        ports: { ...quietFreePorts.ports, eventBridge: port },
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PortInUseError);
      expect((failure as Error).message).toBe(
        `EventBridge/SQS emulator cannot listen on 127.0.0.1:${port}: the port is already in use. ` +
          "Stop the other process or choose another port (0 picks a free one).",
      );
    } finally {
      await closeServer(blocker);
    }
  });
});
