import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { viewerContentSecurityPolicy } from "../../lib/hosted-viewer.js";
import { TraceStreamApi } from "../../lib/trace-stream-api.js";
import { apiPropsFromContext, TraceStreamStack } from "../../lib/trace-stream-stack.js";
import { HostedViewerConfig } from "../../protocol/viewer-config.js";
import {
  appWithoutBundling,
  logicalId,
  outputs,
  type PolicyStatementJson,
  resources,
} from "./template-helpers.js";

// A stand-in build: the construct deploys whatever web/dist holds; these tests read the template.
let distDir: string;
let app: App;
let stack: TraceStreamStack;
let template: Template;

beforeAll(() => {
  distDir = mkdtempSync(join(tmpdir(), "viewer-dist-"));
  writeFileSync(join(distDir, "index.html"), "<!doctype html><title>viewer</title>");
  app = appWithoutBundling();
  stack = new TraceStreamStack(app, "HostedViewer", {
    api: {
      viewer: { distDir },
      tokenEndpoint: { grants: [{ principals: ["arn:aws:iam::123456789012:role/viewer"], traces: ["*"] }] },
    },
  });
  template = Template.fromStack(stack);
});
afterAll(() => rmSync(distDir, { recursive: true, force: true }));

const viewer = () => {
  if (!stack.api.viewer) throw new Error("no viewer");
  return stack.api.viewer;
};

function bucketPolicyStatements(bucketLogicalId: string): PolicyStatementJson[] {
  return Object.values(resources(template))
    .filter((r) => r.Type === "AWS::S3::BucketPolicy")
    .filter((r) => JSON.stringify(r.Properties?.Bucket) === JSON.stringify({ Ref: bucketLogicalId }))
    .flatMap(
      (r) =>
        (r.Properties?.PolicyDocument as { Statement?: PolicyStatementJson[] } | undefined)?.Statement ?? [],
    );
}

describe("hosted viewer: a private bucket behind CloudFront with Origin Access Control", () => {
  it("blocks every form of public access to the bucket, and serves no website from it", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.anyValue(),
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      WebsiteConfiguration: Match.absent(),
    });
    for (const bucket of Object.values(resources(template)).filter((r) => r.Type === "AWS::S3::Bucket")) {
      expect(bucket.Properties?.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  it("lets only this distribution read the bucket (OAC: the CloudFront service, conditioned on its ARN)", () => {
    const statements = bucketPolicyStatements(logicalId(viewer().bucket));
    const allows = statements.filter((s) => s.Effect === "Allow");
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Action: "s3:GetObject",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Condition: { StringEquals: { "AWS:SourceArn": expect.anything() } },
    });
    expect(JSON.stringify(allows[0]?.Condition)).toContain(logicalId(viewer().distribution));
    // Plain HTTP to the bucket is refused outright.
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
  });

  it("signs origin requests with an S3 Origin Access Control, not a legacy identity", () => {
    template.hasResourceProperties("AWS::CloudFront::OriginAccessControl", {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: "s3",
        SigningBehavior: "always",
        SigningProtocol: "sigv4",
      },
    });
    template.resourceCountIs("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0);
    const distribution = resources(template)[logicalId(viewer().distribution)];
    const config = distribution?.Properties?.DistributionConfig as {
      Origins: Array<{ OriginAccessControlId?: unknown; S3OriginConfig?: { OriginAccessIdentity?: string } }>;
    };
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0]?.OriginAccessControlId).toBeDefined();
    expect(config.Origins[0]?.S3OriginConfig?.OriginAccessIdentity).toBe("");
  });

  it("redirects HTTP to HTTPS, serves index.html at /, logs requests, and never caches config.json", () => {
    const policyId = { Ref: logicalId(viewer().responseHeadersPolicy) };
    template.hasResourceProperties("AWS::CloudFront::Distribution", {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: "index.html",
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: "redirect-to-https",
          ResponseHeadersPolicyId: policyId,
          AllowedMethods: ["GET", "HEAD"],
        }),
        CacheBehaviors: [
          Match.objectLike({
            PathPattern: "/config.json",
            ViewerProtocolPolicy: "redirect-to-https",
            ResponseHeadersPolicyId: policyId,
            // The managed CachingDisabled policy.
            CachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
          }),
        ],
        Logging: Match.objectLike({ Prefix: "cloudfront/" }),
      }),
    });
  });
});

describe("hosted viewer: security headers", () => {
  const headers = (): Record<string, Record<string, unknown>> => {
    const policy = Object.values(resources(template)).find(
      (r) => r.Type === "AWS::CloudFront::ResponseHeadersPolicy",
    );
    const config = policy?.Properties?.ResponseHeadersPolicyConfig as
      | { SecurityHeadersConfig?: Record<string, Record<string, unknown>> }
      | undefined;
    if (!config?.SecurityHeadersConfig) throw new Error("no response headers policy");
    return config.SecurityHeadersConfig;
  };

  it("sends HSTS for two years, DENY framing, nosniff and no referrer, overriding the origin", () => {
    expect(headers()).toMatchObject({
      StrictTransportSecurity: {
        AccessControlMaxAgeSec: 63_072_000,
        IncludeSubdomains: true,
        Override: true,
      },
      FrameOptions: { FrameOption: "DENY", Override: true },
      ContentTypeOptions: { Override: true },
      ReferrerPolicy: { ReferrerPolicy: "no-referrer", Override: true },
    });
  });

  it("sends a CSP allowing the page's own files and only the stack's WebSocket API to connect to", () => {
    const csp = headers().ContentSecurityPolicy as { ContentSecurityPolicy: unknown; Override: boolean };
    expect(csp.Override).toBe(true);
    const text = JSON.stringify(csp.ContentSecurityPolicy);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
      "connect-src 'self' ",
    ]) {
      expect(text).toContain(directive);
    }
    expect(text).not.toContain("unsafe-inline");
    expect(text).not.toContain("unsafe-eval");
    expect(csp.ContentSecurityPolicy).toEqual({
      "Fn::Join": [
        "",
        [
          expect.any(String),
          { "Fn::GetAtt": [logicalId(stack.api.webSocketApi), "ApiEndpoint"] },
          expect.any(String),
        ],
      ],
    });
  });

  it("adds the origin of a token service of the deployer's own to connect-src", () => {
    expect(viewerContentSecurityPolicy(["wss://a.example", "https://auth.example"])).toContain(
      "connect-src 'self' wss://a.example https://auth.example;",
    );
  });
});

describe("hosted viewer: config.json from the stack's outputs", () => {
  it("writes the WebSocket URL, the auth mode and the token endpoint next to the build, and invalidates the cache", () => {
    const [deployment] = Object.values(resources(template)).filter(
      (r) => r.Type === "Custom::CDKBucketDeployment",
    );
    const properties = deployment?.Properties as {
      SourceObjectKeys: string[];
      SourceMarkers: Array<Record<string, unknown>>;
      DestinationBucketName: unknown;
      DistributionPaths: string[];
      Prune: boolean;
    };
    expect(properties.DestinationBucketName).toEqual({ Ref: logicalId(viewer().bucket) });
    expect(properties.DistributionPaths).toEqual(["/*"]);
    expect(properties.Prune).toBe(true);
    expect(properties.SourceObjectKeys).toHaveLength(2);

    // The second source is config.json; tokens are markers the deployment replaces at deploy time.
    const assembly = app.synth();
    const asset = join(assembly.directory, `asset.${properties.SourceObjectKeys[1]?.replace(/\.zip$/, "")}`);
    const text = readFileSync(join(asset, "config.json"), "utf8");
    const markers = properties.SourceMarkers[1] ?? {};
    const config = HostedViewerConfig.parse(JSON.parse(text));
    const resolve = (value: string | undefined) =>
      value?.replace(/<<marker:0xbaba:\d+>>/g, (marker) => `{${JSON.stringify(markers[marker])}}`);
    expect(config.authMode).toBe("hs256");
    expect(resolve(config.webSocketUrl)).toBe(
      `wss://{${JSON.stringify({ Ref: logicalId(stack.api.webSocketApi) })}}.execute-api.{{"Ref":"AWS::Region"}}.{{"Ref":"AWS::URLSuffix"}}/prod`,
    );
    expect(config.tokenEndpoint?.auth).toBe("aws_iam");
    expect(resolve(config.tokenEndpoint?.url)).toContain(logicalId(stack.api.tokenEndpoint!.httpApi));
    expect(config.tokenEndpoint?.url).toMatch(/\/token$/);
    expect(config.tokenUrl).toBeUndefined();
  });

  it("outputs the viewer's URL, bucket and distribution", () => {
    expect(Object.keys(outputs(template))).toEqual(
      expect.arrayContaining(["ViewerUrl", "ViewerBucketName", "ViewerDistributionId"]),
    );
    expect(JSON.stringify(outputs(template).ViewerUrl?.Value)).toContain("https://");
  });
});

describe("hosted viewer: lifecycle and options", () => {
  it("keeps the buckets on stack deletion by default (removalPolicy retain)", () => {
    for (const bucket of Object.values(resources(template)).filter((r) => r.Type === "AWS::S3::Bucket")) {
      expect(bucket.DeletionPolicy).toBe("Retain");
    }
    template.resourceCountIs("Custom::S3AutoDeleteObjects", 0);
  });

  it("empties and deletes the buckets with the stack under removalPolicy destroy", () => {
    const destroy = new TraceStreamStack(appWithoutBundling(), "HostedViewerDestroy", {
      api: { viewer: { distDir }, removalPolicy: RemovalPolicy.DESTROY },
    });
    const destroyTemplate = Template.fromStack(destroy);
    for (const bucket of Object.values(resources(destroyTemplate)).filter(
      (r) => r.Type === "AWS::S3::Bucket",
    )) {
      expect(bucket.DeletionPolicy).toBe("Delete");
    }
    destroyTemplate.resourceCountIs("Custom::S3AutoDeleteObjects", 2);
  });

  it("fails synthesis with what to run when the viewer is on and there is no build", () => {
    const empty = mkdtempSync(join(tmpdir(), "viewer-empty-"));
    try {
      expect(
        () =>
          new TraceStreamApi(new Stack(appWithoutBundling(), "NoBuild"), "Api", {
            viewer: { distDir: empty },
          }),
      ).toThrow(`viewer: no build in ${empty} (no index.html): run \`npm run build:web\` first`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("synthesizes without any build when the viewer is off (the default)", () => {
    const plain = Template.fromStack(new TraceStreamStack(appWithoutBundling(), "NoViewer"));
    plain.resourceCountIs("AWS::CloudFront::Distribution", 0);
    plain.resourceCountIs("AWS::S3::Bucket", 0);
  });

  it("refuses a token URL that is not https", () => {
    expect(
      () =>
        new TraceStreamApi(new Stack(appWithoutBundling(), "HttpTokenUrl"), "Api", {
          viewer: { distDir, tokenUrl: "http://auth.example/token" },
        }),
    ).toThrow('viewer.tokenUrl must be an https URL, got "http://auth.example/token"');
  });

  it("is turned on from context with -c hostedViewer=true", () => {
    const fromContext = (context: Record<string, unknown>) => apiPropsFromContext(new App({ context }).node);
    expect(fromContext({ hostedViewer: "true" }).viewer).toEqual({});
    expect(fromContext({ hostedViewer: "false" }).viewer).toBeUndefined();
    expect(() => fromContext({ hostedViewer: "yes" })).toThrow(
      'context hostedViewer must be true or false, got "yes"',
    );
  });
});
