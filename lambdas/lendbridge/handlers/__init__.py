"""Lambda entry points, one module per function. Thin: parse, call the domain, map the result.

Rule of the room: the top layer. May import ``domain``, ``data``, ``http``, ``schemas``, ``wiring``
and the shared leaves; nothing imports a handler (the stacks name them by module path only).
"""
