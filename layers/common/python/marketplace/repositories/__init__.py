"""The only code that touches PynamoDB and boto3; SDK errors leave it as domain errors."""
