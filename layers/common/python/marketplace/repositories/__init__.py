"""The only code that touches PynamoDB and botocore; SDK errors leave it as domain errors."""
