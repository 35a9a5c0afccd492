"""Lendbridge Lambda code: handlers (HTTP) -> domain (rules) -> data (DynamoDB, Cognito, KMS)."""
