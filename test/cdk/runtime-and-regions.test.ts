import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { REGIONS_WITHOUT_SCHEMA_REGISTRY } from "../../lib/registry-schema.js";
import { TraceStreamApi } from "../../lib/trace-stream-api.js";
import { apiPropsFromContext, TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { appWithoutBundling, resources } from "./template-helpers.js";

const templateOf = (stack: Stack) => Template.fromStack(stack);
const schemaResources = (template: Template) =>
  Object.values(resources(template)).filter((resource) => resource.Type.startsWith("AWS::EventSchemas::"));

// The default stack, synthesized once (in a hook: the first synthesis of a file is the slow one).
let defaults: Template;
beforeAll(() => {
  defaults = templateOf(new TraceStreamStack(appWithoutBundling(), "Defaults"));
});

describe("Lambda runtime", () => {
  it("runs every function on nodejs24.x (nodejs22.x is deprecated on 2027-04-30)", () => {
    const functions = defaults.findResources("AWS::Lambda::Function");
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const [id, fn] of Object.entries(functions)) {
      expect((fn.Properties as { Runtime: string }).Runtime, id).toBe("nodejs24.x");
    }
  });
});

describe("schema registry (AWS::EventSchemas does not exist in every region)", () => {
  it("is created by default in a region-agnostic stack", () => {
    expect(
      schemaResources(defaults)
        .map((resource) => resource.Type)
        .sort(),
    ).toEqual(["AWS::EventSchemas::Registry", "AWS::EventSchemas::Schema"]);
  });

  it("is left out with schemaRegistry: false, and the rest of the stack stays", () => {
    const stack = new TraceStreamStack(appWithoutBundling(), "NoRegistry", {
      api: { schemaRegistry: false },
    });
    const template = templateOf(stack);
    expect(schemaResources(template)).toEqual([]);
    expect(stack.api.schemaRegistry).toBeUndefined();
    template.resourceCountIs("AWS::Events::Rule", 1);
  });

  it.each(REGIONS_WITHOUT_SCHEMA_REGISTRY)(
    "is left out by default when the stack is pinned to %s",
    (region) => {
      const stack = new TraceStreamStack(appWithoutBundling(), "Pinned", { env: { region } });
      expect(schemaResources(templateOf(stack))).toEqual([]);
    },
  );

  it("refuses schemaRegistry: true in a region without the service, naming the region", () => {
    const stack = new Stack(new App(), "Pinned", { env: { region: "il-central-1" } });
    expect(() => new TraceStreamApi(stack, "Api", { schemaRegistry: true })).toThrow(
      /EventBridge Schema Registry is not available in il-central-1: set schemaRegistry to false/,
    );
  });

  it("is read from the schemaRegistry context key (true or false)", () => {
    const fromContext = (value: unknown) =>
      apiPropsFromContext(new App({ context: { schemaRegistry: value } }).node);
    expect(fromContext("false").schemaRegistry).toBe(false);
    expect(fromContext(false).schemaRegistry).toBe(false);
    expect(fromContext("true").schemaRegistry).toBe(true);
    expect(() => fromContext("no")).toThrow(/context schemaRegistry must be true or false, got "no"/);
  });
});
