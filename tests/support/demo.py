"""The demo data in the test database, seeded once per run: `demo_rows` reads every row of the `demo_template`
database (migrated, then `portal seed-demo`), and the `demo` fixture writes them into the test database, which the
test then reads and changes as it likes (tests/conftest.py empties the tables after every test)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from graphlib import TopologicalSorter

import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.models import Model

from models.database import APP_LABEL, tortoise_config


@dataclass(frozen=True)
class TableRows:
    table: str
    columns: tuple[str, ...]
    rows: list[tuple]


def tables_in_insert_order() -> list[str]:
    """Every table of our models, each after the tables its foreign keys point to."""
    models: list[type[Model]] = list(Tortoise.apps[APP_LABEL].values())
    dependencies = {
        model._meta.db_table: {
            model._meta.fields_map[name].related_model._meta.db_table
            for name in model._meta.fk_fields | model._meta.o2o_fields
        }
        - {model._meta.db_table}
        for model in models
    }
    return list(TopologicalSorter(dependencies).static_order())


@pytest.fixture(scope="session")
async def demo_rows(demo_template: str) -> list[TableRows]:
    """The demo's rows, table by table in insert order."""
    tables = tables_in_insert_order()
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(demo_template))
        source = context.connections.get("default")
        read = [(table, await source.execute_query_dict(f'SELECT * FROM "{table}"')) for table in tables]
    return [TableRows(table, tuple(rows[0]), [tuple(row.values()) for row in rows]) for table, rows in read if rows]


@pytest.fixture
async def demo(demo_rows: list[TableRows]) -> AsyncIterator[None]:
    """The demo data, as `portal seed-demo` writes it, in the (empty) test database."""
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    for table in demo_rows:
        names = ", ".join(f'"{column}"' for column in table.columns)
        marks = ", ".join(f"${n}" if postgres else "?" for n in range(1, len(table.columns) + 1))
        await connection.execute_many(f'INSERT INTO "{table.table}" ({names}) VALUES ({marks})', table.rows)
    if postgres:
        # Rows written with their ids leave a serial column's sequence behind them (SQLite's follows by itself).
        for table in {table.table for table in demo_rows} & serial_tables():
            await connection.execute_script(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"
            )
    yield


def serial_tables() -> set[str]:
    """The tables whose id the database numbers."""
    return {model._meta.db_table for model in Tortoise.apps[APP_LABEL].values() if model._meta.pk.generated}
