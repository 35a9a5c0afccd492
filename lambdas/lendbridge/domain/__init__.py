"""Business rules. No boto3 and no HTTP here: adapters are passed in.

Rule of the room: may import only ``lendbridge.errors``, ``lendbridge.ports`` and itself; must not
import ``data``, ``http``, ``schemas``, ``handlers``, ``wiring``, ``settings``, ``aws``, boto3 or
botocore. Everything below the rules reaches it through a port it declares.
"""
