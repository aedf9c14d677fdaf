import type { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES } from "../../lib/function-names.js";
import { postToConnectionsArn } from "../../lib/function-permissions.js";
import { TraceStreamAuth, type TraceStreamFunctionName } from "../../lib/trace-stream-api.js";
import { TraceStreamStack } from "../../lib/trace-stream-stack.js";
import {
  appWithoutBundling,
  logicalId,
  type PolicyStatementJson,
  statementsOfRole,
} from "./template-helpers.js";

/** One allowed action on one resource, under one condition: what a role's policies come down to. */
interface Permission {
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The role's statements flattened to permissions, sorted (minimizePolicies may merge statements). */
function permissionsOf(
  template: Template,
  stack: TraceStreamStack,
  name: TraceStreamFunctionName,
): Permission[] {
  const statements: PolicyStatementJson[] = statementsOfRole(
    template,
    logicalId(stack.api.functions[name].role!),
  );
  for (const statement of statements) expect(statement.Effect).toBe("Allow");
  return sorted(
    statements.flatMap((statement) =>
      list(statement.Action).flatMap((action) =>
        list(statement.Resource).map((resource) => ({
          action,
          resource,
          ...(statement.Condition ? { condition: statement.Condition } : {}),
        })),
      ),
    ),
  );
}

function sorted(permissions: Permission[]): Permission[] {
  return [...permissions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function allow(actions: string[], resource: unknown, condition?: unknown): Permission[] {
  return actions.map((action) => ({ action, resource, ...(condition ? { condition } : {}) }));
}

const leadingKeys = (...prefixes: string[]) => ({
  "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes.map((prefix) => `${prefix}*`) },
});

/** What every function may do: write its own log group. */
function ownLogs(stack: Stack, api: TraceStreamStack["api"], name: TraceStreamFunctionName): Permission[] {
  const logGroupArn = stack.resolve(api.functions[name].logGroup.logGroupArn);
  return allow(["logs:CreateLogStream", "logs:PutLogEvents"], logGroupArn);
}

describe("each function's role allows exactly what its code calls (HS256 stack, tracing off)", () => {
  let stack: TraceStreamStack;
  let template: Template;
  let expected: Record<TraceStreamFunctionName, Permission[]>;

  beforeAll(() => {
    stack = new TraceStreamStack(appWithoutBundling(), "Permissions", { api: { tracing: false } });
    template = Template.fromStack(stack);
    const { api } = stack;
    const arn = (construct: Parameters<typeof logicalId>[0]) => ({
      "Fn::GetAtt": [logicalId(construct), "Arn"],
    });
    const table = arn(api.table);
    const runsIndex = { "Fn::Join": ["", [table, "/index/runs"]] };
    const post = stack.resolve(postToConnectionsArn(api.stage));
    const recorder = arn(api.functions["failure-recorder"]);
    const logsOf = (name: TraceStreamFunctionName) => ownLogs(stack, api, name);
    expected = {
      authorizer: [
        ...logsOf("authorizer"),
        ...allow(["secretsmanager:GetSecretValue"], { Ref: logicalId(api.jwtSecret!) }),
      ],
      connect: [
        ...logsOf("connect"),
        ...allow(["dynamodb:Query"], table, leadingKeys("TRACE#", "WATCH#")),
        ...allow(["dynamodb:PutItem"], table, leadingKeys("TRACE#", "CONN#", "WATCH#")),
      ],
      disconnect: [
        ...logsOf("disconnect"),
        ...allow(["dynamodb:Query"], table, leadingKeys("CONN#")),
        ...allow(["dynamodb:BatchWriteItem"], table, leadingKeys("TRACE#", "CONN#", "WATCH#")),
      ],
      resume: [
        ...logsOf("resume"),
        ...allow(["dynamodb:Query"], table, leadingKeys("TRACE#", "CONN#")),
        ...allow(["dynamodb:UpdateItem"], table, leadingKeys("CONN#")),
        ...allow(["dynamodb:BatchWriteItem"], table, leadingKeys("TRACE#", "CONN#")),
        ...allow(["dynamodb:BatchGetItem"], table, leadingKeys("TRACE#")),
        // listRuns queries the run index only: its day partitions, on the index's ARN.
        ...allow(["dynamodb:Query"], runsIndex, leadingKeys("RUNS#")),
        ...allow(["execute-api:ManageConnections"], post),
      ],
      default: logsOf("default"),
      emitter: [
        ...logsOf("emitter"),
        ...allow(
          [
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
          ],
          table,
          leadingKeys("TRACE#"),
        ),
        ...allow(["dynamodb:Query", "dynamodb:DeleteItem"], table, leadingKeys("WATCH#")),
        ...allow(["dynamodb:BatchWriteItem"], table, leadingKeys("CONN#")),
        ...allow(["execute-api:ManageConnections"], post),
        ...allow(["sqs:SendMessage"], arn(api.deadLetterQueue)),
        // The on-failure destination: Lambda invokes the recorder with the emitter's role.
        ...allow(["lambda:InvokeFunction"], recorder),
        ...allow(["lambda:InvokeFunction"], { "Fn::Join": ["", [recorder, ":*"]] }),
      ],
      "failure-recorder": [
        ...logsOf("failure-recorder"),
        ...allow(["sqs:SendMessage"], arn(api.asyncFailureQueue)),
      ],
    };
  });

  it.each(FUNCTION_NAMES)("%s", (name) => {
    expect(permissionsOf(template, stack, name)).toEqual(sorted(expected[name]));
  });

  it("posts to @connections with POST only, on this API's stage", () => {
    const post = JSON.stringify(stack.resolve(postToConnectionsArn(stack.api.stage)));
    expect(post).toContain(`{"Ref":"${logicalId(stack.api.webSocketApi)}"}`);
    expect(post).toMatch(/"\/prod\/POST\/@connections\/\*"\]\]\}$/);
  });
});

describe("options that change a role", () => {
  it("OIDC: the authorizer may only write its logs", () => {
    const stack = new TraceStreamStack(appWithoutBundling(), "PermissionsOidc", {
      api: {
        tracing: false,
        auth: TraceStreamAuth.oidc({
          jwksUrl: "https://issuer.example/jwks.json",
          issuer: "https://issuer.example/",
          audience: "viewer",
        }),
      },
    });
    const template = Template.fromStack(stack);
    expect(permissionsOf(template, stack, "authorizer")).toEqual(
      sorted(ownLogs(stack, stack.api, "authorizer")),
    );
  });

  it("tracing on: every function also gets the two X-Ray actions, which take no resource but '*'", () => {
    const stack = new TraceStreamStack(appWithoutBundling(), "PermissionsTraced", { api: { tracing: true } });
    const template = Template.fromStack(stack);
    for (const name of FUNCTION_NAMES) {
      const xray = permissionsOf(template, stack, name).filter((p) => p.action.startsWith("xray:"));
      expect(xray, name).toEqual(sorted(allow(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*")));
    }
  });
});
