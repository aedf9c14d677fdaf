import { readFileSync } from "node:fs";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";

/**
 * Skips esbuild for stacks whose tests read only the template (the construct tree and the
 * CloudFormation are the same; only the code asset is a placeholder). One test file bundles for
 * real and checks the bundles.
 */
export function appWithoutBundling(): App {
  return new App({ context: { ...deployContext(), "aws:cdk:bundling-stacks": [] } });
}

/**
 * The context `cdk synth`/`cdk deploy` run with (cdk.json's feature flags), so the templates the
 * tests read are the ones that get deployed.
 */
export function deployContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));
  return cdkJson.context ?? {};
}

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
}

export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Principal?: unknown;
  readonly Condition?: unknown;
}

export function resources(template: Template): Record<string, CfnResourceJson> {
  return (template.toJSON() as { Resources: Record<string, CfnResourceJson> }).Resources;
}

export function outputs(template: Template): Record<string, { Value: unknown }> {
  return (template.toJSON() as { Outputs?: Record<string, { Value: unknown }> }).Outputs ?? {};
}

/** Logical id of an L2 construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Every statement of every inline policy attached to the role with this logical id. */
export function statementsOfRole(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  return Object.values(resources(template))
    .filter((resource) => resource.Type === "AWS::IAM::Policy")
    .filter((policy) => JSON.stringify(policy.Properties?.Roles).includes(`"Ref":"${roleLogicalId}"`))
    .flatMap(
      (policy) =>
        (policy.Properties?.PolicyDocument as { Statement?: PolicyStatementJson[] } | undefined)?.Statement ??
        [],
    );
}

export function actionsOf(statements: readonly PolicyStatementJson[]): string[] {
  return statements.flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );
}

/** Environment variables of a function resource. */
export function environmentOf(template: Template, functionLogicalId: string): Record<string, unknown> {
  const fn = resources(template)[functionLogicalId];
  if (!fn) throw new Error(`no resource ${functionLogicalId}`);
  return (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
}
