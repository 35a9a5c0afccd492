"""Data access: DynamoDB, Cognito and KMS adapters. Knows nothing of HTTP.

Rule of the room: may import ``lendbridge.domain`` (its ports and records), the shared leaves
(``errors``, ``ports``, ``observability``) and boto3; must not import ``handlers``, ``wiring``,
``http`` or ``schemas``. ``names`` imports nothing at all: the CDK stacks read it.
"""
