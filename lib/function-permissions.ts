import { Stack } from "aws-cdk-lib";
import type * as apigwv2 from "aws-cdk-lib/aws-apigatewayv2";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { FunctionName, OptionalFunctionName } from "./function-names.js";
import { keys, RUNS_INDEX } from "./table-design.js";

/**
 * What each function's code calls, and so all its role may do beyond writing its own logs (and
 * X-Ray, when tracing is on). Read from the handlers and the store adapter
 * (lambdas/shared/trace-store.ts); test/lambdas/function-permissions.test.ts records every AWS call
 * the handlers make on the local stack and checks it against this table, both ways.
 */

/** The DynamoDB operations the store adapter uses (paginated queries are Query calls). */
export type TableAction =
  | "dynamodb:PutItem"
  | "dynamodb:GetItem"
  | "dynamodb:DeleteItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:Query"
  | "dynamodb:BatchGetItem"
  | "dynamodb:BatchWriteItem";

/**
 * Partition-key prefixes (lib/table-design.ts): trace partitions, connection partitions, the runs
 * watchers' partition and (on the `runs` index) the run index's day partitions.
 */
export type PartitionPrefix =
  | typeof keys.tracePrefix
  | typeof keys.connectionPrefix
  | typeof keys.watchPrefix
  | typeof keys.runsPrefix;

/** Table actions allowed only on items whose partition key starts with one of the prefixes. */
export interface TableGrant {
  readonly actions: readonly TableAction[];
  readonly partitions: readonly PartitionPrefix[];
  /** On this global secondary index (its partition key is what `LeadingKeys` sees), not the table. */
  readonly index?: typeof RUNS_INDEX;
}

export interface FunctionPermissions {
  readonly table?: readonly TableGrant[];
  /** `execute-api:ManageConnections` on `POST @connections/*` of the stage (no GET, no DELETE). */
  readonly postToConnections?: true;
  /** `sqs:SendMessage` on the queue. */
  readonly sendTo?: "deadLetterQueue" | "failureQueue";
  /** `secretsmanager:GetSecretValue` on the HS256 token secret (HS256 mode only). */
  readonly readTokenSecret?: true;
  /**
   * What Lambda's event source mapping reads the table's stream with, on the function's role:
   * DescribeStream, GetShardIterator and GetRecords on the stream, and ListStreams (which has no
   * resource-level permissions, so `*`).
   */
  readonly readTableStream?: true;
}

const TRACE = keys.tracePrefix;
const CONN = keys.connectionPrefix;
const WATCH = keys.watchPrefix;
const RUNS = keys.runsPrefix;

export const FUNCTION_PERMISSIONS: Readonly<
  Record<FunctionName | Exclude<OptionalFunctionName, "token">, FunctionPermissions>
> = {
  authorizer: { readTokenSecret: true },
  // countSubscribers (a count query on TRACE#), then putSubscription: the reverse item (CONN#)
  // and the subscription (TRACE#); for the runs list, the same on the watchers' partition (WATCH#).
  connect: {
    table: [
      { actions: ["dynamodb:Query"], partitions: [TRACE, WATCH] },
      { actions: ["dynamodb:PutItem"], partitions: [TRACE, CONN, WATCH] },
    ],
  },
  // deleteConnection: query the connection's reverse items, batch-delete them and the
  // subscriptions or runs watchers they point at.
  disconnect: {
    table: [
      { actions: ["dynamodb:Query"], partitions: [CONN] },
      { actions: ["dynamodb:BatchWriteItem"], partitions: [TRACE, CONN, WATCH] },
    ],
  },
  // traceOfConnection (CONN#), takeRequest (the rate window on the reverse item, CONN#),
  // eventsAfter and highestSeq (TRACE#); deleteSubscription when the client is gone mid-replay.
  // listRuns: the watcher's grants (CONN#), a query of the run index's day partitions (RUNS# on
  // the index) and a batch read of the run summaries (TRACE#).
  resume: {
    table: [
      { actions: ["dynamodb:Query"], partitions: [TRACE, CONN] },
      { actions: ["dynamodb:UpdateItem"], partitions: [CONN] },
      { actions: ["dynamodb:BatchWriteItem"], partitions: [TRACE, CONN] },
      { actions: ["dynamodb:BatchGetItem"], partitions: [TRACE] },
      { actions: ["dynamodb:Query"], partitions: [RUNS], index: RUNS_INDEX },
    ],
    postToConnections: true,
  },
  default: {},
  // putEvent (conditional put, then a get on a duplicate), the run summary (an update of the
  // trace's RUN item, lambdas/shared/run-index.ts), subscribers, pruneSubscription (conditional
  // delete of the subscription, then a batch delete of the reverse item).
  emitter: {
    table: [
      {
        actions: [
          "dynamodb:PutItem",
          "dynamodb:GetItem",
          "dynamodb:UpdateItem",
          "dynamodb:Query",
          "dynamodb:DeleteItem",
        ],
        partitions: [TRACE],
      },
      // The runs watchers: read (cached), and a gone one pruned (conditional delete, then its
      // reverse item in the batch delete below).
      { actions: ["dynamodb:Query", "dynamodb:DeleteItem"], partitions: [WATCH] },
      { actions: ["dynamodb:BatchWriteItem"], partitions: [CONN] },
    ],
    postToConnections: true,
    sendTo: "deadLetterQueue",
  },
  "failure-recorder": { sendTo: "failureQueue" },
  // fanOut: "stream". subscribers (a query on TRACE#), the run summary (an update of the trace's
  // RUN item) and its live update to the runs watchers (as the emitter's), pruneSubscription
  // (conditional delete of the subscription, batch delete of the reverse item); the mapping reads
  // the stream and sends a batch that kept failing to the failure queue (its on-failure
  // destination) with the function's role.
  "fan-out": {
    table: [
      { actions: ["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], partitions: [TRACE] },
      { actions: ["dynamodb:Query", "dynamodb:DeleteItem"], partitions: [WATCH] },
      { actions: ["dynamodb:BatchWriteItem"], partitions: [CONN] },
    ],
    postToConnections: true,
    sendTo: "failureQueue",
    readTableStream: true,
  },
};

/** The resources the table's permissions are granted on. */
export interface PermissionResources {
  readonly table: dynamodb.ITableV2;
  readonly stage: apigwv2.WebSocketStage;
  readonly deadLetterQueue: sqs.IQueue;
  readonly failureQueue: sqs.IQueue;
  /** The HS256 token secret; absent in OIDC mode, where `readTokenSecret` grants nothing. */
  readonly tokenSecret?: secretsmanager.ISecret | undefined;
}

/** ARN of `POST @connections/*` on the stage: posting only, no GET (status) or DELETE (close). */
export function postToConnectionsArn(stage: apigwv2.WebSocketStage): string {
  const api = Stack.of(stage.api).formatArn({ service: "execute-api", resource: stage.api.apiId });
  return `${api}/${stage.stageName}/POST/@connections/*`;
}

/** Grants `grantee` exactly what `permissions` lists, on `resources`. */
export function grantFunctionPermissions(
  grantee: iam.IGrantable,
  permissions: FunctionPermissions,
  resources: PermissionResources,
): void {
  for (const { actions, partitions, index } of permissions.table ?? []) {
    iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [
        index === undefined ? resources.table.tableArn : `${resources.table.tableArn}/index/${index}`,
      ],
      conditions: {
        "ForAllValues:StringLike": {
          "dynamodb:LeadingKeys": partitions.map((prefix) => `${prefix}*`),
        },
      },
    });
  }
  if (permissions.postToConnections) {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["execute-api:ManageConnections"],
      resourceArns: [postToConnectionsArn(resources.stage)],
    });
  }
  if (permissions.sendTo) {
    const queue =
      permissions.sendTo === "deadLetterQueue" ? resources.deadLetterQueue : resources.failureQueue;
    iam.Grant.addToPrincipal({ grantee, actions: ["sqs:SendMessage"], resourceArns: [queue.queueArn] });
  }
  if (permissions.readTableStream) {
    const streamArn = resources.table.tableStreamArn;
    if (!streamArn) throw new Error('readTableStream needs a table with a stream (fanOut: "stream")');
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
      resourceArns: [streamArn],
    });
    iam.Grant.addToPrincipal({ grantee, actions: ["dynamodb:ListStreams"], resourceArns: ["*"] });
  }
  const secret = resources.tokenSecret;
  if (permissions.readTokenSecret && secret) {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ["secretsmanager:GetSecretValue"],
      // An ARN without the random suffix (a secret imported by name) matches through the wildcard.
      resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    });
    secret.encryptionKey?.grantDecrypt(grantee);
  }
}
