"""Data access: DynamoDB, Cognito and KMS adapters. Knows nothing of HTTP."""
