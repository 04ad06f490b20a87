"""The rows of a model whose column holds one of a list of values, in one statement whose text never changes.

Pages load the rows they point at (an invoice's lines, a key's devices, the products of a page) by the page's ids.
Through tortoise, each such load builds its SQL anew, one placeholder per id, which costs more CPU than PostgreSQL
spends answering it. Here the statement is written once per model, column and order, and the ids travel as one
parameter: an array on PostgreSQL (`= ANY($1)`), a JSON list on SQLite (`IN (SELECT value FROM json_each(?))`).
Only for rows whose scope is already settled (the children of rows the Viewer handed out, products): nothing
here filters by business, mode or customer.
"""

import json
from functools import cache
from typing import TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


@cache
def _statement(table: str, column: str, order: tuple[str, ...], dialect: str) -> str:
    ids = "= ANY($1)" if dialect == "postgres" else "IN (SELECT value FROM json_each(?))"
    ordering = ", ".join(f'"{name}"' for name in order)
    return f'SELECT * FROM "{table}" WHERE "{column}" {ids} ORDER BY {ordering}'


async def rows_in(model: type[M], column: str, values: list[str], order: tuple[str, ...]) -> list[M]:
    """Every row of `model` whose `column` is one of `values`, ordered by the columns of `order` (ascending)."""
    if not values:
        return []
    client = model._meta.db
    dialect = client.capabilities.dialect
    statement = _statement(model._meta.db_table, column, order, dialect)
    parameter = list(values) if dialect == "postgres" else json.dumps(list(values))
    rows = await client.execute_query_dict(statement, [parameter])
    return [model._init_from_db(**row) for row in rows]
