"""One stack per concern: data, identity, API, processing, monitoring; ``app`` assembles them.

Rule of the room: may import ``lendbridge_infra`` and, from the Lambda code, its tables of names
(``lendbridge.data.names``, ``lendbridge.routes``); must not import ``local``, ``tools``,
``benchmarks`` or a Lambda handler (functions are named by module path, bundled, never run here).
"""
