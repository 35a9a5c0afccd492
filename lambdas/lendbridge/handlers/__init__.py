"""Lambda entry points, one module per function. Thin: parse, call the domain, map the result."""
