"""Request and response bodies of the HTTP contract (pydantic), shared by all handlers.

Rule of the room: may import ``domain`` (for its value types) and ``ports``; must not import
``http``, ``data``, ``handlers``, ``wiring``, boto3 or botocore.
"""
