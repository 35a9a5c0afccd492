"""The HTTP edge: request/response envelope, error mapping, caller identity.

Rule of the room: may import ``schemas``, ``routes`` and the shared leaves; must not import
``data`` (an adapter reaches a route only through the handler's wiring) or ``handlers``. The
domain's exceptions become responses here, and only here (``errors``).
"""
