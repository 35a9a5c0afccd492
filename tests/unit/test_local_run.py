"""What ``make run`` tells and leaves for a newcomer: settings, the banner, the state file."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from local.stack import DEFAULT_API_PORT

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_dev_cors_origin_is_a_front_end_not_the_local_api_itself() -> None:
    """A browser app served from the API's own origin needs no CORS: the dev origin must be
    where a front-end dev server runs beside ``make run``."""
    origins = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["stages"]["dev"]["cors_origins"]
    assert origins
    for origin in origins:
        parts = urlsplit(origin)
        assert parts.hostname in ("localhost", "127.0.0.1"), origin
        assert parts.port not in (None, DEFAULT_API_PORT), origin
