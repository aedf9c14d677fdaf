export * from "./frames.js";
export * from "./json-schema.js";
export * from "./json-shape.js";
export * from "./limits.js";
export * from "./redact.js";
export * from "./token-api.js";
export * from "./trace-event.js";
export * from "./validate.js";
