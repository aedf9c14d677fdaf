/**
 * A small DynamoDB Streams client over the local stack's Streams API (the AWS JSON 1.0 protocol;
 * @aws-sdk/client-dynamodb-streams is not a dependency): reads every record of a stream.
 */
interface StreamRecordJson {
  readonly eventName: string;
  readonly dynamodb: {
    readonly SequenceNumber: string;
    readonly Keys: Record<string, { S?: string }>;
    readonly NewImage?: Record<string, { S?: string; N?: string }>;
  };
}

export async function streamsCall(endpoint: string, operation: string, input: unknown): Promise<unknown> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": `DynamoDBStreams_20120810.${operation}`,
      authorization: "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request",
    },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as unknown;
  if (!response.ok) throw new Error(`${operation}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Every record of the table's stream, shard by shard, from the start of each. */
export async function readWholeStream(endpoint: string, tableName: string): Promise<StreamRecordJson[]> {
  const { Streams } = (await streamsCall(endpoint, "ListStreams", { TableName: tableName })) as {
    Streams: { StreamArn: string }[];
  };
  const records: StreamRecordJson[] = [];
  for (const { StreamArn } of Streams) {
    const { StreamDescription } = (await streamsCall(endpoint, "DescribeStream", { StreamArn })) as {
      StreamDescription: { Shards: { ShardId: string }[] };
    };
    for (const { ShardId } of StreamDescription.Shards) {
      let { ShardIterator } = (await streamsCall(endpoint, "GetShardIterator", {
        StreamArn,
        ShardId,
        ShardIteratorType: "TRIM_HORIZON",
      })) as { ShardIterator: string };
      for (;;) {
        const page = (await streamsCall(endpoint, "GetRecords", { ShardIterator, Limit: 1000 })) as {
          Records: StreamRecordJson[];
          NextShardIterator: string;
        };
        records.push(...page.Records);
        if (page.Records.length === 0) break;
        ShardIterator = page.NextShardIterator;
      }
    }
  }
  return records;
}
