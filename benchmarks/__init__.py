"""``make bench``: DynamoDB round trips, consumed capacity and latency per HTTP request.

A benchmark, not a test: it measures and reports (stdout and docs/benchmarks.md); it fails
only when it cannot run. The Lambda code lives under ``lambdas/`` (its own root on Lambda),
so it is put on the import path here, once, for every module of the package.

Rule of the room: may import the Lambda code and ``local`` (the emulators and the local stack it
measures); must not import ``tools``, and nothing but its own entry point imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_LAMBDAS = str(PROJECT_ROOT / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)
