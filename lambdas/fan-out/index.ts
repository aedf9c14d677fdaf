import { createHandler } from "./handler.js";

export const handler = createHandler(process.env);
