import { describe, expect, it } from "vitest";
import { LOCAL } from "../../bin/commands/settings.js";
import { DEFAULT_VIEWER_PORT } from "../../local/dev-server.js";
import {
  DEFAULT_LOCAL_HOST,
  DEFAULT_LOCAL_PORTS,
  DEFAULT_LOCAL_TABLE,
  LOCAL_REGION,
} from "../../local/index.js";

describe("the CLI's local defaults", () => {
  it("are the local stack's own defaults, so every command reaches `npm start` without flags", () => {
    const host = DEFAULT_LOCAL_HOST;
    expect(LOCAL.url).toBe(`ws://${host}:${DEFAULT_LOCAL_PORTS.webSocket}/local`);
    expect(LOCAL.eventBridgeEndpoint).toBe(`http://${host}:${DEFAULT_LOCAL_PORTS.eventBridge}`);
    expect(LOCAL.dynamodbEndpoint).toBe(`http://${host}:${DEFAULT_LOCAL_PORTS.dynamodb}`);
    expect(LOCAL.viewerUrl).toBe(`http://${host}:${DEFAULT_VIEWER_PORT}`);
    expect(LOCAL.table).toBe(DEFAULT_LOCAL_TABLE);
    expect(LOCAL.region).toBe(LOCAL_REGION);
  });
});
