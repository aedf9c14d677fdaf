import type { FunctionName, OptionalFunctionName } from "./function-names.js";

/**
 * Size, time limit and concurrency of one Lambda function. The CDK construct deploys these values
 * and the local stack's Lambda runner enforces the same ones, so a timeout or a throttle seen
 * locally is the one AWS would produce.
 */
export interface FunctionSpec {
  readonly description: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /**
   * Reserved concurrency: at most this many executions at once, also guaranteed to the function.
   * Without it the function shares the account's unreserved concurrency.
   */
  readonly reservedConcurrency?: number;
}

/**
 * Lambda's default concurrency quota per account and region. Functions without reserved
 * concurrency share what is left of it once reservations are taken out.
 */
export const ACCOUNT_CONCURRENCY = 1000;

/**
 * The emitter's reserved concurrency. EventBridge invokes it asynchronously, so an invocation over
 * the limit is not lost: Lambda keeps it in the function's queue and runs it when an execution is
 * free (for up to the event age limit). A cap makes a burst of producers queue instead of taking
 * the account's concurrency from the routes, and bounds the @connections posts in flight to
 * `reservedConcurrency × EMITTER_CONCURRENCY`. At 1,024 MB (see EMITTER_MEMORY_MB) one invocation
 * fans an event out to 50 viewers in about 30 ms, so 20 executions carry about 700 events a second.
 */
export const EMITTER_RESERVED_CONCURRENCY = 20;

/**
 * The emitter's memory, sized by `npm run bench:emitter-sizing`: its invocations are CPU-bound
 * (8-14 ms of CPU against 3-4 ms waiting on DynamoDB and @connections, for 1-50 viewers), and
 * Lambda's CPU grows with memory (1,769 MB is one vCPU; 512 MB is 0.29). Doubling 512 MB to 1,024
 * roughly halves the modelled duration (50 viewers: 53 → 29 ms) for about 8 % more Lambda cost
 * ($0.55 → $0.59 per million events), since GB-seconds stay nearly flat while the work is CPU;
 * past one vCPU the single-threaded handler gains little more.
 */
export const EMITTER_MEMORY_MB = 1024;

export const FUNCTION_SPECS: Readonly<Record<FunctionName | OptionalFunctionName, FunctionSpec>> = {
  authorizer: { description: "Verifies viewer tokens on $connect", memoryMb: 256, timeoutSeconds: 10 },
  connect: { description: "Writes a subscription on $connect", memoryMb: 256, timeoutSeconds: 10 },
  disconnect: { description: "Deletes a subscription on $disconnect", memoryMb: 256, timeoutSeconds: 10 },
  // 29 s is API Gateway's integration timeout; resume posts its frames before it returns. The same
  // function answers listRuns: one page is at most 20 index queries and their batch reads.
  resume: {
    description: "Replays stored events to a client and lists runs",
    memoryMb: 512,
    timeoutSeconds: 29,
  },
  default: { description: "Answers raw pings and unknown messages", memoryMb: 128, timeoutSeconds: 5 },
  emitter: {
    description: "Stores trace events and fans them out to subscribers",
    memoryMb: EMITTER_MEMORY_MB,
    timeoutSeconds: 60,
    reservedConcurrency: EMITTER_RESERVED_CONCURRENCY,
  },
  "failure-recorder": {
    description: "Redacts the emitter's failed invocations into the failure queue",
    memoryMb: 128,
    timeoutSeconds: 10,
  },
  // One batch per shard at a time: its posts, for every trace of the batch, within the timeout.
  "fan-out": {
    description: "Posts stored trace events from the table's stream, batched (fanOut: stream)",
    memoryMb: 512,
    timeoutSeconds: 60,
  },
  token: {
    description: "Mints short-lived viewer tokens for IAM callers (token endpoint)",
    memoryMb: 256,
    timeoutSeconds: 10,
  },
};
