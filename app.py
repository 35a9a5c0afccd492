#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth --context stage=dev|prod`."""

import os

# `make` sets this; from a fresh shell jsii would print its Node end-of-life banner on every
# `npx cdk …` (Node 20 is the documented prerequisite).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from stacks.app import build_app

app, _ = build_app()
app.synth()
