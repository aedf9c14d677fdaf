#!/usr/bin/env node
// The package's `bin`: runs the TypeScript CLI through tsx (a runtime dependency), so no build step.
import { register } from "tsx/esm/api";

register();
await import("./trace-stream.ts");
