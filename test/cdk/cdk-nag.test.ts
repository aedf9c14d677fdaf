import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { TraceStreamAuth } from "../../lib/trace-stream-api.js";
import { TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { appWithoutBundling } from "./template-helpers.js";

// cdk-nag v3 is a CDK policy-validation plugin (bin/app.ts registers it with
// Validations.of(app).addPlugins); findings are acknowledged with Validations.of(x).acknowledge,
// not suppressed through annotations. validateScope runs the same rules over a construct tree.
const violationsOf = (app: App) =>
  new AwsSolutionsChecks(app).validateScope(app).violations.map((violation) => ({
    rule: violation.ruleName,
    severity: violation.severity,
    at: violation.violatingResources.map((resource) => resource.constructPath),
  }));

function acknowledgments(root: IConstruct): { id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([id, reason]) => ({ id, reason })),
  );
}

describe("cdk-nag AwsSolutions checks", () => {
  it("leave no unacknowledged error or warning on the HS256 stack, and synthesis passes them as in bin/app.ts", () => {
    const app = appWithoutBundling();
    new TraceStreamStack(app, "NagHs256");
    expect(violationsOf(app)).toEqual([]);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
  });

  it("leave no unacknowledged error or warning on the OIDC stack", () => {
    const app = appWithoutBundling();
    new TraceStreamStack(app, "NagOidc", {
      api: {
        auth: TraceStreamAuth.oidc({
          jwksUrl: "https://issuer.example/jwks.json",
          issuer: "https://issuer.example/",
          audience: "trace-viewer",
        }),
        stageName: "dev",
      },
    });
    expect(violationsOf(app)).toEqual([]);
  });

  it("leave no unacknowledged error or warning with an alarm email (the construct's SNS topic)", () => {
    const app = appWithoutBundling();
    new TraceStreamStack(app, "NagAlarms", { api: { alarmEmail: "oncall@example.com" } });
    expect(violationsOf(app)).toEqual([]);
  });

  it.each([RemovalPolicy.RETAIN, RemovalPolicy.DESTROY])(
    "leave no unacknowledged error or warning with the token endpoint and the hosted viewer on (%s)",
    (removalPolicy) => {
      const distDir = mkdtempSync(join(tmpdir(), "nag-viewer-"));
      writeFileSync(join(distDir, "index.html"), "<!doctype html>");
      try {
        const app = appWithoutBundling();
        new TraceStreamStack(app, "NagOptions", {
          api: {
            removalPolicy,
            tokenEndpoint: {
              grants: [{ principals: ["arn:aws:iam::123456789012:role/viewer"], traces: ["*"] }],
              allowedOrigins: ["https://app.example.com"],
            },
            viewer: { distDir },
          },
        });
        expect(violationsOf(app)).toEqual([]);
        Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
        expect(() => app.synth()).not.toThrow();
      } finally {
        rmSync(distDir, { recursive: true, force: true });
      }
    },
  );

  it("still report a finding nobody acknowledged (the checks are live)", () => {
    const app = appWithoutBundling();
    new sqs.Queue(new Stack(app, "Plain"), "Unencrypted", { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(violationsOf(app).map((violation) => violation.rule)).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });

  it("acknowledge every finding with a written reason, rule by rule", () => {
    const app = appWithoutBundling();
    new TraceStreamStack(app, "NagReasons");
    const acknowledged = acknowledgments(app);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledged) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});
