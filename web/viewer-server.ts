/**
 * The viewer on http://127.0.0.1:3000 for `npm start`: the page (from source through Vite, or the
 * static build in web/dist) plus, with a local stack, the small API that gives the page its
 * WebSocket URL, dev tokens and demo runs (web/viewer-api.ts).
 *
 *   const viewer = await startViewerServer({ stack });   // stack from startLocalStack()
 *   console.log(viewer.url);                               // http://127.0.0.1:3000
 *   await viewer.close();
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { closeServer, httpUrl, isLoopbackHost, LocalStackError, listen } from "../local/http-server.js";
import { createDemoRuns, type DemoRuns } from "./demo-runs.js";
import { createStaticHandler } from "./static-files.js";
import { createViewerApi, type ViewerStack } from "./viewer-api.js";

export type { ViewerStack } from "./viewer-api.js";

export const DEFAULT_VIEWER_PORT = 3000;
export const DEFAULT_DIST_DIR = fileURLToPath(new URL("./dist", import.meta.url));
const VITE_CONFIG = fileURLToPath(new URL("./vite.config.ts", import.meta.url));

export interface ViewerServerOptions {
  /** A loopback address when `stack` is given (the API mints tokens for whoever asks). @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
  /** The local stack the page watches; without it the page must be configured (deployed mode). */
  readonly stack?: ViewerStack;
  /**
   * "source": Vite in middleware mode, from web/ (hot reload; needs the dev dependencies).
   * "build": the static files of `npm run build:web` in `distDir`.
   * @default "source" when Vite is installed, else "build"
   */
  readonly assets?: "source" | "build";
  /** @default web/dist */
  readonly distDir?: string;
  /** Pace of "Run demo" runs: 1 is human pace (about 20 s). `false` turns the button off. @default 1 */
  readonly demoSpeed?: number | false;
  /** Watch web/ for changes and hot-reload the page (source mode). @default true */
  readonly watch?: boolean;
  /** Where the server's own lines go. @default nowhere */
  readonly log?: (message: string) => void;
}

export interface ViewerServer {
  /** http://host:port/ */
  readonly url: string;
  readonly port: number;
  readonly assets: "source" | "build";
  /** Stops demo runs (each ends with plan_failed), Vite and the HTTP server. Safe to call twice. */
  close(): Promise<void>;
}

type Handler = (
  request: import("node:http").IncomingMessage,
  response: import("node:http").ServerResponse,
) => void;

export async function startViewerServer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_VIEWER_PORT;
  const log = options.log ?? (() => {});
  if (options.stack !== undefined && !isLoopbackHost(host)) {
    throw new LocalStackError(
      `the viewer serves local dev tokens, so it listens on loopback only (127.0.0.1, ::1, localhost), got "${host}"`,
    );
  }
  const assets = options.assets ?? ((await viteInstalled()) ? "source" : "build");
  const distDir = options.distDir ?? DEFAULT_DIST_DIR;
  if (assets === "build" && !existsSync(`${distDir}/index.html`)) {
    throw new LocalStackError(`no viewer build in ${distDir}: run \`npm run build:web\` first`);
  }

  const demos: DemoRuns | undefined =
    options.stack === undefined || options.demoSpeed === false
      ? undefined
      : createDemoRuns({
          target: {
            eventBridge: options.stack.endpoints.eventBridge,
            busName: options.stack.busName,
            source: options.stack.source,
          },
          speed: options.demoSpeed ?? 1,
          log,
        });
  const api = createViewerApi({ stack: options.stack, startDemo: demos && (() => demos.start()), log });

  let pages: Handler = (_request, response) => {
    response.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
    response.end("the viewer is starting\n");
  };
  const server: Server = createServer((request, response) => {
    const local = options.stack !== undefined && request.url?.split("?")[0] === "/config.json";
    if (request.url?.startsWith("/api/") || local) {
      api(request, response).catch((error: unknown) => {
        log(
          `viewer API ${request.method} ${request.url}: ${error instanceof Error ? error.message : String(error)}`,
        );
        if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
        response.end(JSON.stringify({ message: "the viewer server failed; see its log" }));
      });
      return;
    }
    pages(request, response);
  });

  const boundPort = await listen(server, "the trace viewer", host, port);
  let closeVite: () => Promise<void> = async () => {};
  try {
    if (assets === "source") {
      const vite = await startVite(server, options.watch ?? true);
      closeVite = () => vite.close();
      pages = (request, response) =>
        vite.middlewares(request, response, () => {
          response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
          response.end("not found\n");
        });
    } else {
      const serveStatic = createStaticHandler(distDir);
      pages = (request, response) => {
        serveStatic(request, response).catch(() => {
          if (!response.headersSent) response.writeHead(500);
          response.end();
        });
      };
    }
  } catch (error) {
    await closeServer(server);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    url: `${httpUrl(host, boundPort)}/`,
    port: boundPort,
    assets,
    close: () => {
      closing ??= (async () => {
        await demos?.close();
        await closeVite();
        await closeServer(server);
      })();
      return closing;
    },
  };
}

async function startVite(server: Server, watch: boolean) {
  const { createServer: createViteServer } = await import("vite");
  return createViteServer({
    configFile: VITE_CONFIG,
    appType: "spa",
    logLevel: "warn",
    clearScreen: false,
    server: {
      middlewareMode: true,
      // Hot reload over this server's own port (no second port to open).
      ws: { server },
      ...(watch ? {} : { watch: null }),
    },
  });
}

async function viteInstalled(): Promise<boolean> {
  try {
    await import("vite");
    return true;
  } catch {
    return false;
  }
}
