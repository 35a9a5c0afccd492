"""The composition root: one module per function builds, from its checked settings, the objects
that function runs on (``wiring.lending`` for the loans and lender functions, ``wiring.accounts``,
``wiring.health``, ``wiring.stream``, ``wiring.integrity``, ``wiring.claims``,
``wiring.post_confirmation``).

Rule of the room: a wiring module may import ``data``, ``domain``, ``http`` and the shared
leaves, never a handler; it builds nothing at import (the handlers call ``build`` on first use,
through ``lendbridge.lazy.Lazy``). This package imports none of its modules, so importing one
function's wiring never imports another's: each function's cold start pays for its own objects.
"""
