import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { FUNCTION_NAMES } from "../../lib/function-names.js";
import { EMITTER_RESERVED_CONCURRENCY, FUNCTION_SPECS } from "../../lib/function-specs.js";
import { TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { appWithoutBundling, logicalId } from "./template-helpers.js";

const stackWith = (emitterReservedConcurrency?: number) => {
  const stack = new TraceStreamStack(appWithoutBundling(), "Specs", {
    api: emitterReservedConcurrency === undefined ? {} : { emitterReservedConcurrency },
  });
  return { stack, template: Template.fromStack(stack) };
};

describe("function sizes, timeouts and concurrency (the values the local stack enforces too)", () => {
  it("deploys every function with the memory, timeout and reserved concurrency of FUNCTION_SPECS", () => {
    const { stack, template } = stackWith();
    const functions = template.findResources("AWS::Lambda::Function");
    for (const name of FUNCTION_NAMES) {
      const properties = functions[logicalId(stack.api.functions[name])]?.Properties ?? {};
      const spec = FUNCTION_SPECS[name];
      expect(properties, name).toMatchObject({ MemorySize: spec.memoryMb, Timeout: spec.timeoutSeconds });
      expect(properties.ReservedConcurrentExecutions, name).toBe(spec.reservedConcurrency);
    }
    expect(FUNCTION_SPECS.emitter.reservedConcurrency).toBe(EMITTER_RESERVED_CONCURRENCY);
  });

  it("takes the emitter's reserved concurrency from the props and refuses a non-positive one", () => {
    const { stack, template } = stackWith(5);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Description: FUNCTION_SPECS.emitter.description,
      ReservedConcurrentExecutions: 5,
    });
    expect(stack.api.functions.emitter).toBeDefined();
    expect(() => stackWith(0)).toThrow(/emitterReservedConcurrency/);
  });
});
