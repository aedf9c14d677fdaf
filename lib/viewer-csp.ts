/**
 * The hosted viewer's Content-Security-Policy (lib/hosted-viewer.ts sends it through CloudFront;
 * the browser test serves the build with it). Kept free of CDK imports so the test can use it.
 *
 * The page's own files only, no inline script or style, no framing, no plugins, and network
 * access to itself and the given origins (the WebSocket API, a token service of the deployer's
 * own). React sets styles through the CSSOM, which `style-src 'self'` allows; the favicon is a
 * data: URL.
 */
export function viewerContentSecurityPolicy(connectTo: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${connectTo.join(" ")}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
}
