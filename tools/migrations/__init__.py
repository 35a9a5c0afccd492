"""One-off data migrations, run by hand (see docs/migrations.md):

python -m tools.migrations.participant_ids --help
"""

from __future__ import annotations

import sys
from pathlib import Path

# The migrations reuse the Lambda code's item shapes, which live under lambdas/ (as in Lambda).
_LAMBDAS = str(Path(__file__).resolve().parents[2] / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)
