"""Reusable CDK building blocks for Lendbridge.

Named ``lendbridge_infra`` on purpose: a top-level package called ``constructs`` would shadow
the ``constructs`` library that aws-cdk-lib itself imports.
"""
