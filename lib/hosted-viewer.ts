import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CfnElement,
  DefaultStackSynthesizer,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
} from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import { Construct, type IConstruct } from "constructs";
import { HOSTED_CONFIG_FILE, type HostedViewerConfig } from "../protocol/viewer-config.js";
import { viewerContentSecurityPolicy } from "./viewer-csp.js";

export { viewerContentSecurityPolicy } from "./viewer-csp.js";

/** web/dist of this package: where `npm run build:web` writes the viewer. */
export const DEFAULT_VIEWER_DIST = fileURLToPath(new URL("../web/dist", import.meta.url));

/** The hosted viewer of `TraceStreamStackProps.viewer`. */
export interface TraceStreamViewerOptions {
  /**
   * The built viewer. Synthesis fails, saying to run `npm run build:web`, when it holds no
   * index.html: the stack deploys a build, it does not make one.
   * @default web/dist of this package
   */
  readonly distDir?: string;
  /**
   * A token service of your own for the page: `GET {tokenUrl}?traceId=T` with the user's cookies,
   * answering `{"token": "..."}` (its origin is added to the page's connect-src).
   * @default - none: tokens come in the link (`#token=`)
   */
  readonly tokenUrl?: string;
  /**
   * A WAF web ACL (its ARN, from a us-east-1 stack) to put in front of the distribution.
   * @default - none
   */
  readonly webAclId?: string;
  /** @default PriceClass.PRICE_CLASS_100 (North America and Europe edge locations) */
  readonly priceClass?: cloudfront.PriceClass;
}

export interface TraceStreamViewerProps extends TraceStreamViewerOptions {
  /** `wss://` stage URL the page connects to. */
  readonly webSocketUrl: string;
  /** `wss://{api-id}.execute-api.{region}.amazonaws.com`, for the page's connect-src. */
  readonly webSocketOrigin: string;
  readonly authMode: HostedViewerConfig["authMode"];
  /** The stack's token endpoint, when it has one (named in config.json; the page does not call it). */
  readonly tokenEndpointUrl?: string;
  /** The bucket, its logs and the distribution's logs go with the stack only when this is DESTROY. */
  readonly removalPolicy: RemovalPolicy;
  /** How long access logs are kept (days). */
  readonly logRetention: logs.RetentionDays;
}

/** The origin (`scheme://host[:port]`) of an https URL given in props, checked at synthesis. */
function originOf(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what} must be an https URL, got "${url}"`);
  }
  if (parsed.protocol !== "https:") throw new Error(`${what} must be an https URL, got "${url}"`);
  return parsed.origin;
}

function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The viewer on CloudFront: the build in a private S3 bucket read through Origin Access Control,
 * served over HTTPS with security headers, and `config.json` written next to it from the stack's
 * outputs at deploy time, so the page knows where to connect without a rebuild.
 */
export class TraceStreamViewer extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  readonly deployment: s3deploy.BucketDeployment;
  /** `https://{id}.cloudfront.net` */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TraceStreamViewerProps) {
    super(scope, id);
    const distDir = props.distDir ?? DEFAULT_VIEWER_DIST;
    if (!existsSync(join(distDir, "index.html"))) {
      throw new Error(
        `viewer: no build in ${distDir} (no index.html): run \`npm run build:web\` first, or deploy without the hosted viewer`,
      );
    }
    const connectTo = [props.webSocketOrigin];
    if (props.tokenUrl !== undefined) connectTo.push(originOf(props.tokenUrl, "viewer.tokenUrl"));
    const destroy = props.removalPolicy === RemovalPolicy.DESTROY;

    // CloudFront's standard logs need ACLs (object writer); S3 access logs use a bucket policy.
    this.logBucket = new s3.Bucket(this, "AccessLogs", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(props.logRetention) }],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: destroy,
    });
    this.bucket = new s3.Bucket(this, "Bucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // aws-cdk-lib's Bucket declares optional members as `T | undefined`, IBucket as `T?`, which
      // exactOptionalPropertyTypes reads as different types: hence the casts to IBucket.
      serverAccessLogsBucket: this.logBucket as s3.IBucket,
      serverAccessLogsPrefix: "bucket/",
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: destroy,
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, "SecurityHeaders", {
      comment: "trace-stream viewer: CSP, HSTS, no framing, no sniffing, no referrer",
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: viewerContentSecurityPolicy(connectTo),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        // The legacy XSS auditor is gone from browsers and could be abused where it remains: off.
        xssProtection: { protection: false, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          {
            header: "Permissions-Policy",
            value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
            override: true,
          },
          { header: "Cross-Origin-Opener-Policy", value: "same-origin", override: true },
        ],
      },
    });

    // One origin (one Origin Access Control) for both behaviours.
    const origin = origins.S3BucketOrigin.withOriginAccessControl(this.bucket as s3.IBucket);
    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: `${Stack.of(this).stackName} trace viewer`,
      defaultRootObject: "index.html",
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      // Each deploy may change the API's URL: the page must never see a cached config.json.
      additionalBehaviors: {
        [`/${HOSTED_CONFIG_FILE}`]: {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          responseHeadersPolicy: this.responseHeadersPolicy,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket as s3.IBucket,
      logFilePrefix: "cloudfront/",
      ...(props.webAclId ? { webAclId: props.webAclId } : {}),
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    const config: HostedViewerConfig = {
      webSocketUrl: props.webSocketUrl,
      authMode: props.authMode,
      ...(props.tokenUrl ? { tokenUrl: props.tokenUrl } : {}),
      ...(props.tokenEndpointUrl
        ? { tokenEndpoint: { url: props.tokenEndpointUrl, auth: "aws_iam" as const } }
        : {}),
    };
    this.deployment = new s3deploy.BucketDeployment(this, "Deployment", {
      sources: [s3deploy.Source.asset(distDir), s3deploy.Source.jsonData(HOSTED_CONFIG_FILE, config)],
      destinationBucket: this.bucket as s3.IBucket,
      distribution: this.distribution,
      distributionPaths: ["/*"],
      prune: true,
      memoryLimit: 256,
    });

    this.acknowledgeNagFindings(props);
  }

  /** cdk-nag (AwsSolutions) findings that are deliberate, each with its reason. */
  private acknowledgeNagFindings(props: TraceStreamViewerProps): void {
    acknowledge(
      this.logBucket,
      "This bucket receives the access logs of the viewer bucket and of the distribution; logging it to itself would loop.",
      "AwsSolutions-S1",
    );
    acknowledge(
      this.distribution,
      "The distribution serves on its *.cloudfront.net name, whose certificate CloudFront pins to the TLSv1 policy; a custom domain with its own certificate is what allows TLSv1.2_2021.",
      "AwsSolutions-CFR4",
    );
    acknowledge(
      this.distribution,
      "Viewers of a team's agent runs can be anywhere the team is; restrict with a WAF web ACL (webAclId) where that is not so.",
      "AwsSolutions-CFR1",
    );
    if (!props.webAclId) {
      acknowledge(
        this.distribution,
        "Static files only (no forms, no server code behind the distribution); pass webAclId to put a WAF web ACL in front.",
        "AwsSolutions-CFR2",
      );
    }

    // BucketDeployment's handler is aws-cdk-lib's own singleton function: its runtime, managed
    // policy and grants are chosen by CDK, scoped to the asset bucket and this viewer's bucket.
    const handler = this.deployment.handlerRole.node.scope;
    if (!handler) return;
    const stack = Stack.of(this);
    const qualifier =
      (this.node.tryGetContext("@aws-cdk/core:bootstrapQualifier") as string | undefined) ??
      DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    acknowledge(
      handler,
      "aws-cdk-lib's BucketDeployment handler: CDK picks its runtime and moves it forward with aws-cdk-lib.",
      "AwsSolutions-L1",
    );
    acknowledge(
      handler,
      "aws-cdk-lib's BucketDeployment handler role: CDK attaches the basic execution policy for the handler's own logs.",
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    );
    acknowledge(
      handler,
      "aws-cdk-lib's BucketDeployment grants: read the build's zip from the CDK asset bucket, write and prune this viewer's bucket only.",
      "AwsSolutions-IAM5[Action::s3:GetBucket*]",
      "AwsSolutions-IAM5[Action::s3:GetObject*]",
      "AwsSolutions-IAM5[Action::s3:List*]",
      "AwsSolutions-IAM5[Action::s3:Abort*]",
      "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*]`,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`,
    );
    acknowledge(
      handler,
      "cloudfront:CreateInvalidation and GetInvalidation, which BucketDeployment grants on '*', so the new build and config.json are served at once.",
      "AwsSolutions-IAM5[Resource::*]",
    );
  }
}
