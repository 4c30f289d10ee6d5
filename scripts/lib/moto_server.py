"""moto server, with DynamoDB's atomicity.

DynamoDB applies each write, conditional write and transaction atomically:
two concurrent conditional puts of the same key cannot both succeed. moto's
server handles requests on threads and checks a condition, then writes,
with nothing between the two: under load, two claims of one btId can both
pass. The lifecycle tests race such writes on purpose, so every DynamoDB
operation here runs under one lock, as DynamoDB's own guarantees require.

Usage: the same arguments as `moto_server`.
"""

import functools
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()

for _name in (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "batch_write_item",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
):
    _original = getattr(DynamoDBBackend, _name)

    @functools.wraps(_original)
    def _atomic(self, *args, _original=_original, **kwargs):
        with _LOCK:
            return _original(self, *args, **kwargs)

    setattr(DynamoDBBackend, _name, _atomic)

if __name__ == "__main__":
    main()
