import type { ConnectionGateway, PostResult } from "../../lambdas/shared/connection-gateway.js";

/** A ConnectionGateway port that records posts; ids in `gone` answer 410, ids in `failing` throw. */
export function recordingGateway(options: { gone?: Iterable<string>; failing?: Iterable<string> } = {}) {
  const gone = new Set(options.gone);
  const failing = new Set(options.failing);
  const posts: { connectionId: string; data: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const gateway: ConnectionGateway & {
    posts: typeof posts;
    framesFor(connectionId: string): unknown[];
    readonly maxInFlight: number;
  } = {
    posts,
    framesFor: (connectionId) =>
      posts.filter((post) => post.connectionId === connectionId).map((post) => JSON.parse(post.data)),
    get maxInFlight() {
      return maxInFlight;
    },
    async post(connectionId, data): Promise<PostResult> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setImmediate(resolve));
        if (gone.has(connectionId)) return "gone";
        if (failing.has(connectionId)) throw new Error(`post to ${connectionId} failed`);
        posts.push({ connectionId, data });
        return "sent";
      } finally {
        inFlight--;
      }
    },
    async close() {},
  };
  return gateway;
}
