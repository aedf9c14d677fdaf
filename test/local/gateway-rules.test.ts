import { describe, expect, it } from "vitest";
import { ROUTE_SELECTION_EXPRESSION, ROUTES } from "../../lib/routes.js";
import { compileIdentitySources, evaluateAuthorizerOutput } from "../../local/gateway/authorizer-policy.js";
import { apiGatewayId, requestTime } from "../../local/gateway/aws-ids.js";
import { compileRouteSelection, selectRoute } from "../../local/gateway/route-selection.js";

const ARN = "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect";

function output(
  ...statements: { Effect: string; Action?: string | string[]; Resource?: string | string[] }[]
) {
  return {
    principalId: "user-1",
    policyDocument: {
      Version: "2012-10-17",
      Statement: statements.map((s) => ({ Action: "execute-api:Invoke", Resource: ARN, ...s })),
    },
    context: { traceId: "t", count: 2, ok: true },
  };
}

describe("authorizer policy evaluation", () => {
  it("allows with context values turned into strings", () => {
    expect(evaluateAuthorizerOutput(output({ Effect: "Allow" }), ARN)).toEqual({
      effect: "Allow",
      principalId: "user-1",
      context: { traceId: "t", count: "2", ok: "true" },
    });
  });

  it("lets an explicit Deny win over an Allow", () => {
    expect(evaluateAuthorizerOutput(output({ Effect: "Allow" }), ARN).effect).toBe("Allow");
    expect(evaluateAuthorizerOutput(output({ Effect: "Allow" }, { Effect: "Deny" }), ARN)).toMatchObject({
      effect: "Deny",
      explicit: true,
    });
  });

  it("treats a policy with no statement for $connect as an implicit deny", () => {
    const decision = evaluateAuthorizerOutput(
      output({ Effect: "Allow", Action: "execute-api:ManageConnections" }),
      ARN,
    );
    expect(decision).toMatchObject({ effect: "Deny", explicit: false });
  });

  it("matches IAM wildcards in actions (any case) and resources", () => {
    const wildcard = output({
      Effect: "Allow",
      Action: ["EXECUTE-API:*"],
      Resource: ["arn:aws:execute-api:*:*:local/*/$connect"],
    });
    expect(evaluateAuthorizerOutput(wildcard, ARN).effect).toBe("Allow");
  });

  it("accepts a single statement object as well as a list", () => {
    const single = output({ Effect: "Allow" });
    const policy = {
      ...single,
      policyDocument: { ...single.policyDocument, Statement: single.policyDocument.Statement[0] },
    };
    expect(evaluateAuthorizerOutput(policy, ARN).effect).toBe("Allow");
  });

  it.each([
    ["without principalId", { policyDocument: output({ Effect: "Allow" }).policyDocument }],
    ["with an unknown effect", output({ Effect: "Maybe" })],
    ["with an array in the context", { ...output({ Effect: "Allow" }), context: { list: [1] } }],
    ["that is a string", "Allow"],
  ])("calls an output %s invalid", (_case, value) => {
    expect(evaluateAuthorizerOutput(value, ARN).effect).toBe("Invalid");
  });
});

describe("identity sources", () => {
  it("names the query-string and header sources that are missing or empty", () => {
    const missing = compileIdentitySources([
      "route.request.querystring.traceId",
      "route.request.querystring.token",
      "route.request.header.X-Api-Key",
    ]);
    expect(
      missing({ queryStringParameters: { traceId: "t", token: "" }, headers: { "x-api-key": "k" } }),
    ).toEqual(["route.request.querystring.token"]);
  });

  it("refuses a source form it cannot read, at startup", () => {
    expect(() => compileIdentitySources(["context.requestId"])).toThrow(/Unsupported identity source/);
  });
});

describe("route selection", () => {
  const select = compileRouteSelection(ROUTE_SELECTION_EXPRESSION);

  it("selects custom routes by $request.body.action and everything else as $default", () => {
    expect(selectRoute(select('{"action":"resume","afterSeq":-1}'), ROUTES)?.routeKey).toBe("resume");
    expect(selectRoute(select('{"action":"nope"}'), ROUTES)?.routeKey).toBe("$default");
    expect(selectRoute(select("not json"), ROUTES)?.routeKey).toBe("$default");
    expect(selectRoute(select('{"action":"$disconnect"}'), ROUTES)?.routeKey).toBe("$default");
  });

  it("reads nested properties of the expression", () => {
    expect(compileRouteSelection("$request.body.meta.kind")('{"meta":{"kind":"ping"}}')).toBe("ping");
  });

  it("selects nothing when the API has no $default route", () => {
    const custom = ROUTES.filter((route) => route.routeKey !== "$default");
    expect(selectRoute("unknown", custom)).toBeUndefined();
  });

  it("refuses selection expressions other than $request.body.*", () => {
    expect(() => compileRouteSelection("$request.header.x-action")).toThrow(/Unsupported route selection/);
  });
});

describe("API Gateway formats", () => {
  it("makes ids like L0SM9cOFvHcCIhw=", () => {
    const ids = new Set(Array.from({ length: 200 }, apiGatewayId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
  });

  it("writes requestTime in common-log form", () => {
    expect(requestTime(Date.UTC(2020, 11, 3, 4, 5, 6))).toBe("03/Dec/2020:04:05:06 +0000");
  });
});
