"""The HTTP edge: request/response envelope, error mapping, caller identity."""
