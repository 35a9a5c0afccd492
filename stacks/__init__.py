"""One stack per concern: data, identity, API, monitoring."""
