"""Lendbridge Lambda code: handlers (HTTP) -> domain (rules) -> data (DynamoDB, Cognito, KMS).

Rule of the room: this package is deployed alone, so it imports nothing of the CDK app
(``lendbridge_infra``, ``stacks``), the local stack, the tools or the benchmarks. Inside it,
imports point down only: ``handlers`` -> ``wiring`` -> ``http`` | ``data`` -> ``domain``; the
shared leaves (``errors``, ``ports``, ``routes``, ``lazy``, ``json_codec``, ``observability``, ``settings``)
import no subpackage. ``.importlinter`` holds the contracts, tests/unit/test_import_layers.py runs them.
"""
