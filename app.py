#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth --context stage=dev|prod`."""

from lendbridge_infra.app import build_app

app, _ = build_app()
app.synth()
