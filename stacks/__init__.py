"""One stack per concern: data, identity, API, processing, monitoring; ``app`` assembles them.

Rule of the room: may import ``lendbridge_infra`` and, from the Lambda code, its tables of names
(``lendbridge.data.names``, ``lendbridge.routes``); must not import ``local``, ``tools``,
``benchmarks``, a Lambda handler or boto3 (functions are named by module path, bundled, never
run here).
"""
