/**
 * The viewer's build: `npm run build:web` writes a static site to web/dist (relative asset paths,
 * so it can be hosted under any prefix); `startViewerServer` uses the same config in middleware mode.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  root: webRoot,
  base: "./",
  plugins: [react()],
  // Only VITE_TRACE_STREAM_* variables reach the page (see web/viewer-config.ts).
  envPrefix: "VITE_TRACE_STREAM_",
  envDir: repoRoot,
  server: { fs: { allow: [repoRoot] } },
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: "es2022",
  },
});
