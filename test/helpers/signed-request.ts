/**
 * Requests signed with AWS Signature Version 4, the way the AWS SDK signs them (the same
 * @smithy/signature-v4 signer), for calling the token endpoint with a caller's credentials.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { NodeSha256 } from "../../local/sigv4.js";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignOptions {
  readonly region?: string;
  readonly service?: string;
  readonly method?: string;
  /** @default now */
  readonly signingDate?: Date;
  /** Changes the signed request before it is sent (to tamper with it). */
  readonly afterSigning?: (request: { headers: Record<string, string>; url: URL }) => void;
}

/** Signs `GET url` (query included) and sends it; resolves with the status and parsed JSON body. */
export async function signedFetch(
  url: string,
  credentials: Credentials | undefined,
  options: SignOptions = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const target = new URL(url);
  const method = options.method ?? "GET";
  let headers: Record<string, string> = { host: target.host };
  if (credentials !== undefined) {
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of target.searchParams) {
      const held = query[name];
      query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
    }
    const signer = new SignatureV4({
      service: options.service ?? "execute-api",
      region: options.region ?? "us-east-1",
      credentials,
      sha256: NodeSha256,
    });
    const signed = await signer.sign(
      {
        method,
        protocol: target.protocol,
        hostname: target.hostname,
        port: Number(target.port),
        path: target.pathname,
        query,
        headers,
      },
      { signingDate: options.signingDate ?? new Date() },
    );
    headers = signed.headers as Record<string, string>;
  }
  options.afterSigning?.({ headers, url: target });
  const { host: _host, ...sent } = headers;
  const response = await fetch(target, { method, headers: sent });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, body, headers: response.headers };
}
