"""The Python peer of the cold-start bench: a small function as AWS's guides write it, the
DynamoDB client made at init, one GetItem on the data table per invocation."""
import os

import boto3

client = boto3.client("dynamodb")


def handler(event, context):
    answer = client.get_item(
        TableName=os.environ["TABLE"],
        Key={"pk": {"S": "PEER"}, "sk": {"S": "PEER"}},
    )
    return {"found": "Item" in answer}
