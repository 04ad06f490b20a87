"""Work shared by any number of workers: a worker takes a batch of due rows under a lease, so no other worker takes
them until it ends, and a worker that dies mid-batch loses nothing (its lease lapses and the rows are due again); a
worker told to stop hands back the rows it has not started (`hand_back`), so another worker takes them at once.
Rows another worker is taking at the same moment are skipped (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs one
transaction at a time)."""

from datetime import datetime
from typing import TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

M = TypeVar("M", bound=Model)


async def lease_due(due: QuerySet[M], *, order_by: tuple[str, ...], limit: int, lease: dict[str, datetime]) -> list[M]:
    """Up to `limit` rows of `due`, in `order_by` order, with `lease` (the field that says when a row is due next,
    moved past now) written to them in the same transaction."""
    async with in_transaction() as connection:
        rows = await due.order_by(*order_by).limit(limit).select_for_update(skip_locked=True).using_db(connection)
        if rows:
            await due.model.filter(pk__in=[row.pk for row in rows]).using_db(connection).update(**lease)
    return rows


async def hand_back(rows: list[M], due: dict[str, datetime]) -> None:
    """Give rows taken under a lease back before the lease ends: `due` sets when they are due again (now)."""
    if rows:
        await type(rows[0]).filter(pk__in=[row.pk for row in rows]).update(**due)
