"""One-off data migrations, run by hand (see docs/migrations.md):

python -m tools.migrations.participant_ids --help

Rule of the room: may import the Lambda code's data layer (the item shapes and the writes a
migration must reproduce) and the domain's records; no deployed code imports a migration.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The migrations reuse the Lambda code's item shapes, which live under lambdas/ (as in Lambda).
_LAMBDAS = str(Path(__file__).resolve().parents[2] / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)
