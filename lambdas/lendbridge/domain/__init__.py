"""Business rules. No boto3 and no HTTP here: adapters are passed in."""
