"""Keyset pages of a query, for every partition (say every business) at once, in one SQL statement.

Lists are ordered newest first by (created_at, id), which is stable even when two rows share a timestamp. A window
function ranks the rows of each partition and counts them, so a page of every business's invoices, with each
business's total, costs one statement however many businesses there are.
"""

from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.base import Timestamped

M = TypeVar("M", bound=Model)


class InvalidCursor(ValueError):
    """A cursor that this server did not hand out."""


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        return urlsafe_b64encode(f"{self.created_at.isoformat()}|{self.id}".encode()).decode()

    @classmethod
    def decode(cls, text: str) -> "Cursor":
        try:
            created_at, _, row_id = urlsafe_b64decode(text.encode()).decode().partition("|")
            cursor = cls(datetime.fromisoformat(created_at), row_id)
        except ValueError as error:
            raise InvalidCursor(text) from error
        if not row_id or cursor.created_at.tzinfo is None:
            raise InvalidCursor(text)
        return cursor

    @classmethod
    def of(cls, row: Timestamped) -> "Cursor":
        return cls(row.created_at, row.pk)


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    total: int = 0
    has_next: bool = False


def after(cursor: Cursor, column: str = "created_at") -> Q:
    """Rows that come after the cursor, newest first (by `column`, then id)."""
    return _beside(cursor, column, "lt")


def before(cursor: Cursor, column: str = "created_at") -> Q:
    """Rows that come before the cursor, newest first (by `column`, then id)."""
    return _beside(cursor, column, "gt")


def _beside(cursor: Cursor, column: str, comparison: str) -> Q:
    further: dict[str, Any] = {f"{column}__{comparison}": cursor.created_at}
    level: dict[str, Any] = {column: cursor.created_at, f"id__{comparison}": cursor.id}
    return Q(**further) | Q(**level)


async def rows_beside(
    query: QuerySet[M], *, column: str, cursor: Cursor | None, backwards: bool, limit: int
) -> list[M]:
    """Up to `limit` rows of `query` next to `cursor` in newest-first order by `column`: the older ones after it,
    or (`backwards`) the newer ones before it, nearest first either way. Without a cursor, the newest (or oldest)."""
    if cursor is not None:
        query = query.filter(before(cursor, column) if backwards else after(cursor, column))
    order = (column, "id") if backwards else (f"-{column}", "-id")
    return await query.order_by(*order).limit(limit)


async def fetch_pages(query: QuerySet[M], *, partition: str | None, first: int) -> dict[Any, Page]:
    """The first `first` rows of every partition of `query` (newest first) with each partition's row count.

    `partition` is a column (`business_id`) or None for one page of the whole query, keyed None.
    """
    client, sql, params = _parameterized_sql(query)
    partition_by = f'PARTITION BY "{partition}"' if partition else ""
    statement = (
        f'SELECT * FROM (SELECT inner_rows.*, COUNT(*) OVER ({partition_by}) AS "_total", '
        f'ROW_NUMBER() OVER ({partition_by} ORDER BY "created_at" DESC, "id" DESC) AS "_rank" '
        f"FROM ({sql}) AS inner_rows) AS ranked "
        f'WHERE "_rank" <= {int(first) + 1} ORDER BY "_rank"'
    )
    rows = await client.execute_query_dict(statement, params)
    pages: dict[Any, Page] = {}
    for row in rows:
        page = pages.setdefault(row[partition] if partition else None, Page(total=row["_total"]))
        if row["_rank"] > first:
            page.has_next = True
        else:
            page.rows.append(_model_from_row(query.model, row))
    return pages


async def count_partitions(query: QuerySet[Any], *, partition: str | None) -> dict[Any, int]:
    """How many rows each partition of `query` holds (for totals when a page starts after a cursor)."""
    if partition is None:
        return {None: await query.count()}
    rows = await query.annotate(rows=Count("id")).group_by(partition).values_list(partition, "rows")
    return dict(rows)


async def fetch_pages_after(
    query: QuerySet[M], *, partition: str | None, first: int, cursor: Cursor | None
) -> dict[Any, Page]:
    """fetch_pages after `cursor`, with each partition's whole row count: one statement, two after a cursor."""
    if cursor is None:
        return await fetch_pages(query, partition=partition, first=first)
    pages = await fetch_pages(query.filter(after(cursor)), partition=partition, first=first)
    for group, total in (await count_partitions(query, partition=partition)).items():
        pages.setdefault(group, Page()).total = total
    return pages


async def fetch_page(query: QuerySet[M], *, first: int, cursor: Cursor | None) -> Page:
    """One page of `query` (newest first) after `cursor`, with the whole query's row count."""
    pages = await fetch_pages(query if cursor is None else query.filter(after(cursor)), partition=None, first=first)
    page = pages.get(None, Page())
    if cursor is not None:
        page.total = await query.count()
    return page


def _parameterized_sql(query: QuerySet[Any]) -> tuple[BaseDBAsyncClient, str, list[Any]]:
    # Tortoise has no public way to embed a QuerySet in a larger statement; these two calls are what its own
    # QuerySet.sql() does, minus dropping the parameters.
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return query._db, sql, params


def _model_from_row(model: type[M], row: dict[str, Any]) -> M:
    return model._init_from_db(**{key: value for key, value in row.items() if not key.startswith("_")})
