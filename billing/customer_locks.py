"""One customer's payment changes, one at a time.

Removing a card, choosing the default, saving a new subscription: each reads what the customer has, decides, and
writes. Two of them at once (two tabs removing the last two cards) could each decide on what the other is about to
change, so each runs in a transaction that first locks the customer's row (`SELECT … FOR UPDATE` on PostgreSQL;
SQLite runs one transaction at a time anyway). Taking that lock first gives every such transaction one order, and a
deadlock or serialization failure that happens all the same is retried rather than answered as an error.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import Customer

T = TypeVar("T")

_ATTEMPTS = 3
# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back and may simply run again.
_RETRYABLE_STATES = frozenset({"40P01", "40001"})


def _retryable(error: BaseException) -> bool:
    causes = (error, error.__cause__)
    return any(getattr(cause, "sqlstate", None) in _RETRYABLE_STATES for cause in causes)


async def for_customer(customer_id: str, work: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> T:
    """Run `work` in a transaction holding the customer's lock; a deadlock is retried, up to a few times."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with in_transaction() as connection:
                # only(), not values_list(): tortoise leaves FOR UPDATE out of a values query.
                await Customer.select_for_update().filter(id=customer_id).using_db(connection).only("id")
                return await work(connection)
        except Exception as error:
            if attempt == _ATTEMPTS or not _retryable(error):
                raise
    raise AssertionError("unreachable")
