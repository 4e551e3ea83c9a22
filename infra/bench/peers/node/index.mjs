// The Node.js peer of the cold-start bench: a small function as AWS's guides write it, the
// DynamoDB client made at init, one GetItem on the data table per invocation.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});

export const handler = async () => {
  const answer = await client.send(
    new GetItemCommand({
      TableName: process.env.TABLE,
      Key: { pk: { S: "PEER" }, sk: { S: "PEER" } },
    }),
  );
  return { found: answer.Item !== undefined };
};
