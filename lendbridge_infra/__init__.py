"""Reusable CDK building blocks for Lendbridge.

Named ``lendbridge_infra`` on purpose: a top-level package called ``constructs`` would shadow
the ``constructs`` library that aws-cdk-lib itself imports.

Rule of the room: a leaf under ``stacks``. May import aws-cdk-lib, cdk-nag, the monitoring
library and, from the Lambda code, constants only (``lendbridge.http.app``'s body limit); must
not import ``stacks``, ``local``, ``tools``, ``benchmarks``, a Lambda handler or its wiring, or
boto3 (not even through the Lambda code it reads).
"""
