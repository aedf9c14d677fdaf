import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * AWS Signature Version 4 checks, as API Gateway's IAM authorization makes them: the request is
 * signed again with the caller's secret key (the same signer the AWS SDK signs with), and the
 * signatures must be equal. Only the header form (`Authorization: AWS4-HMAC-SHA256 ...`) is read.
 */

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the signer takes. */
export class NodeSha256 {
  private readonly secret: Buffer | undefined;
  private hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/** Long-term or temporary credentials the local stack knows, and the IAM identity they belong to. */
export interface LocalCaller {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials carry one; the request must then send it (signed) as X-Amz-Security-Token. */
  readonly sessionToken?: string;
  /** `arn:aws:iam::ACCOUNT:user/NAME`, or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`. */
  readonly arn: string;
  /**
   * Whether the caller's IAM policies allow `execute-api:Invoke` on the token route (false to see
   * API Gateway's AccessDenied). @default true
   */
  readonly mayInvoke?: boolean;
}

export interface SignedRequest {
  readonly method: string;
  /** `host` header value as sent, port included. */
  readonly host: string;
  readonly path: string;
  readonly rawQuery: string;
  /** Lower-case names, as node gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** Why a request's signature was refused; `message` is the one API Gateway answers with (403). */
export class SignatureRefused extends Error {
  override readonly name = "SignatureRefused";
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/** How far a request's X-Amz-Date may be from now, either way (AWS: 5 minutes). */
export const SIGNATURE_SKEW_MS = 5 * 60 * 1000;

const header = (request: SignedRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
};

function amzDate(text: string | undefined): Date | undefined {
  const match = text && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/**
 * Verifies a SigV4-signed request for `service` in `region` against the known callers; resolves
 * to the caller, or throws `SignatureRefused` with API Gateway's message.
 */
export async function verifySignature(
  request: SignedRequest,
  options: {
    readonly callers: readonly LocalCaller[];
    readonly region: string;
    readonly service: string;
    /** Epoch ms. @default Date.now() (signers sign with the machine's clock) */
    readonly now?: number;
  },
): Promise<LocalCaller> {
  const authorization = header(request, "authorization");
  if (authorization === undefined) throw new SignatureRefused("Forbidden");
  const parsed = AUTHORIZATION.exec(authorization.trim());
  if (!parsed) {
    throw new SignatureRefused(
      "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters with the AWS4-HMAC-SHA256 algorithm.",
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = parsed as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const caller = options.callers.find((known) => known.accessKeyId === accessKeyId);
  if (!caller) throw new SignatureRefused("The security token included in the request is invalid.");
  if (region !== options.region) {
    throw new SignatureRefused(`Credential should be scoped to a valid region, not '${region}'.`);
  }
  if (service !== options.service) {
    throw new SignatureRefused(`Credential should be scoped to correct service: '${options.service}'.`);
  }
  const signedAt = amzDate(header(request, "x-amz-date"));
  if (!signedAt) throw new SignatureRefused("Missing or malformed X-Amz-Date header.");
  if (scopeDate !== header(request, "x-amz-date")?.slice(0, 8)) {
    throw new SignatureRefused("Credential should be scoped to the date of X-Amz-Date.");
  }
  const now = options.now ?? Date.now();
  if (Math.abs(now - signedAt.getTime()) > SIGNATURE_SKEW_MS) {
    throw new SignatureRefused(
      `Signature expired: ${header(request, "x-amz-date")} is outside 5 minutes of the server's time.`,
    );
  }
  const signedHeaders = signedList.split(";");
  if (!signedHeaders.includes("host")) throw new SignatureRefused("The host header must be signed.");
  const token = header(request, "x-amz-security-token");
  if ((caller.sessionToken ?? undefined) !== token) {
    throw new SignatureRefused("The security token included in the request is invalid.");
  }

  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = header(request, name);
    if (value === undefined) throw new SignatureRefused(`Signed header ${name} is missing.`);
    headers[name] = value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(request.rawQuery)) {
    const held = query[name];
    query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  const [hostname = "", port] = request.host.split(/:(?=\d+$)/);
  const signer = new SignatureV4({
    service,
    region,
    credentials: {
      accessKeyId: caller.accessKeyId,
      secretAccessKey: caller.secretAccessKey,
      ...(caller.sessionToken === undefined ? {} : { sessionToken: caller.sessionToken }),
    },
    sha256: NodeSha256,
    // Sign exactly what the caller signed: no payload-hash header added on our side.
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: "https:",
      hostname,
      ...(port === undefined ? {} : { port: Number(port) }),
      path: request.path,
      query,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
    },
    { signingDate: signedAt, signableHeaders: new Set(signedHeaders) },
  );
  const computed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1] ?? "";
  const listed = /SignedHeaders=([^,]+)/.exec(String(expected.headers.authorization))?.[1];
  if (
    listed !== signedList ||
    computed.length !== signature.length ||
    !timingSafeEqual(Buffer.from(computed), Buffer.from(signature))
  ) {
    throw new SignatureRefused(
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    );
  }
  return caller;
}
