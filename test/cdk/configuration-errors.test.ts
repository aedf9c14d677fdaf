import { App, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { TraceStreamApi, type TraceStreamApiProps, TraceStreamAuth } from "../../lib/trace-stream-api.js";
import { apiPropsFromContext } from "../../lib/trace-stream-stack.js";

const fromContext = (context: Record<string, unknown>) => apiPropsFromContext(new App({ context }).node);

// The construct validates its props before it creates anything, so these never bundle.
const construct = (props: TraceStreamApiProps) => () => new TraceStreamApi(new Stack(), "Api", props);

describe("deploy-time context (cdk -c key=value)", () => {
  it("defaults to HS256 with nothing else set", () => {
    const props = fromContext({});
    expect(props.auth).toEqual(TraceStreamAuth.hs256());
    expect(Object.keys(props)).toEqual(["auth"]);
  });

  it("builds OIDC auth from jwksUrl, jwtIssuer and jwtAudience", () => {
    const props = fromContext({
      authMode: "oidc",
      jwksUrl: "https://issuer.example/.well-known/jwks.json",
      jwtIssuer: "https://issuer.example/",
      jwtAudience: "viewer",
    });
    expect(props.auth).toEqual(
      TraceStreamAuth.oidc({
        jwksUrl: "https://issuer.example/.well-known/jwks.json",
        issuer: "https://issuer.example/",
        audience: "viewer",
      }),
    );
  });

  it("refuses OIDC without a JWKS URL, issuer or audience, saying what to pass", () => {
    const complete = {
      authMode: "oidc",
      jwksUrl: "https://issuer.example/jwks.json",
      jwtIssuer: "https://issuer.example/",
      jwtAudience: "viewer-app",
    };
    for (const missing of ["jwksUrl", "jwtIssuer", "jwtAudience"]) {
      expect(() => fromContext({ ...complete, [missing]: undefined })).toThrow(
        /authMode=oidc needs -c jwksUrl=.* -c jwtIssuer=.* -c jwtAudience=<app client id>/,
      );
    }
  });

  it("passes a required token_use (jwtTokenUse) through in OIDC mode", () => {
    const props = fromContext({
      authMode: "oidc",
      jwksUrl: "https://issuer.example/jwks.json",
      jwtIssuer: "https://issuer.example/",
      jwtAudience: "viewer-app",
      jwtTokenUse: "id",
    });
    expect(props.auth).toEqual(
      TraceStreamAuth.oidc({
        jwksUrl: "https://issuer.example/jwks.json",
        issuer: "https://issuer.example/",
        audience: "viewer-app",
        tokenUse: "id",
      }),
    );
  });

  it("refuses an unknown auth mode", () => {
    expect(() => fromContext({ authMode: "basic" })).toThrow(
      'context authMode must be "hs256" or "oidc", got "basic"',
    );
  });

  it("reads source, stage, retention, removal policy and the logging-role switch", () => {
    expect(
      fromContext({
        eventSource: "acme.agents",
        stageName: "dev",
        eventRetentionDays: "14",
        removalPolicy: "destroy",
        apiGatewayCloudWatchRole: "false",
      }),
    ).toMatchObject({
      eventSource: "acme.agents",
      stageName: "dev",
      eventRetention: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
      apiGatewayCloudWatchRole: false,
    });
  });

  it("refuses a retention that is not a positive whole number of days", () => {
    for (const bad of ["0", "-1", "1.5", "week"]) {
      expect(() => fromContext({ eventRetentionDays: bad }), bad).toThrow(
        /eventRetentionDays must be a positive whole/,
      );
    }
  });

  it("refuses removal policies other than retain and destroy", () => {
    expect(() => fromContext({ removalPolicy: "snapshot" })).toThrow(
      'removalPolicy must be "retain" or "destroy"',
    );
  });

  it("refuses a logging-role switch that is not true or false", () => {
    expect(() => fromContext({ apiGatewayCloudWatchRole: "yes" })).toThrow(/must be true or false/);
  });

  it("refuses context values that are objects", () => {
    expect(() => fromContext({ stageName: { name: "dev" } })).toThrow(/context "stageName" must be a string/);
  });
});

describe("construct props", () => {
  it("refuses a stage name API Gateway would reject", () => {
    expect(construct({ stageName: "prod/v1" })).toThrow(/stageName must be 1-128 characters of A-Za-z0-9_-/);
  });

  it("refuses a retention that is not whole days", () => {
    expect(construct({ eventRetention: Duration.hours(36) })).toThrow(
      /eventRetention in days must be a positive integer/,
    );
    expect(construct({ eventRetention: Duration.days(0) })).toThrow(/eventRetention in days/);
  });

  it("refuses a fan-out concurrency below one", () => {
    expect(construct({ emitterConcurrency: 0 })).toThrow(
      /emitterConcurrency must be a positive integer, got 0/,
    );
  });

  it("refuses throttling limits that are not positive", () => {
    expect(construct({ throttle: { rateLimit: 0, burstLimit: 10 } })).toThrow(
      /throttle.rateLimit must be positive/,
    );
    expect(construct({ throttle: { rateLimit: 10, burstLimit: 2.5 } })).toThrow(/throttle.burstLimit/);
  });

  it("refuses an OIDC JWKS URL that is not https, or a missing issuer or audience", () => {
    const jwksUrl = "https://issuer.example/jwks.json";
    expect(() =>
      TraceStreamAuth.oidc({ jwksUrl: "http://issuer.example/jwks.json", issuer: "x", audience: "a" }),
    ).toThrow(/jwksUrl must be an https URL/);
    expect(() => TraceStreamAuth.oidc({ jwksUrl, issuer: "", audience: "a" })).toThrow(/issuer is required/);
    expect(() => TraceStreamAuth.oidc({ jwksUrl, issuer: "x", audience: "" })).toThrow(
      /audience is required in OIDC mode/,
    );
  });
});
