"""The committed migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as apply_migrations

from gateway.cli.database import migrate_database, pending_migrations
from models import Business, Product, ProductCollection
from models.database import tortoise_config
from models.enums import TaxCategory
from tests.support.cli import start_portal_process
from tests.support.databases import create_before, scratch_database_url, uses_postgres

_BOOKKEEPING_TABLES = {"tortoise_migrations", "sqlite_sequence"}


async def describe_schema(connection: BaseDBAsyncClient) -> dict[str, set[tuple]]:
    """Every table of the database with its columns (name, type, nullability) and indexes."""
    if uses_postgres():
        _, columns = await connection.execute_query(
            "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length "
            "FROM information_schema.columns WHERE table_schema = 'public'"
        )
        _, indexes = await connection.execute_query(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        )
        rows = [(c["table_name"], tuple(c.values())[1:]) for c in columns]
        rows += [(i["tablename"], (i["indexdef"],)) for i in indexes]
    else:
        _, tables = await connection.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
        rows = []
        for table in (t["name"] for t in tables):
            _, columns = await connection.execute_query(f'PRAGMA table_info("{table}")')
            rows += [(table, (c["name"], c["type"], c["notnull"], c["pk"])) for c in columns]
            rows += [(table, index) for index in await _sqlite_indexes(connection, table)]
    schema: dict[str, set[tuple]] = {}
    for table, row in rows:
        if table not in _BOOKKEEPING_TABLES:
            schema.setdefault(table, set()).add(row)
    return schema


async def _sqlite_indexes(connection: BaseDBAsyncClient, table: str) -> list[tuple]:
    """Each index as (unique, columns): a UNIQUE written into CREATE TABLE and one added later by CREATE UNIQUE
    INDEX (SQLite cannot add a constraint to a table) are the same rule under different names."""
    _, indexes = await connection.execute_query(f'PRAGMA index_list("{table}")')
    described = []
    for index in indexes:
        if index["origin"] == "pk":
            continue
        _, columns = await connection.execute_query(f'PRAGMA index_info("{index["name"]}")')
        described.append(("index", index["unique"], tuple(column["name"] for column in columns)))
    return described


async def test_every_model_change_has_a_migration() -> None:
    pending = await pending_migrations()
    assert pending == [], "models changed without a migration: run `portal makemigrations`"


async def test_migrations_build_the_schema_the_models_describe(migrated_database: str) -> None:
    # The session's test database was built by generate_schemas straight from the models; `migrated_database` is a
    # copy of an empty database `portal migrate` migrated.
    expected = await describe_schema(connections.get("default"))
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        migrated = await describe_schema(connections.get("default"))
    assert set(migrated) == {model._meta.db_table for model in Tortoise.apps["portal"].values()}
    assert migrated == expected


async def test_migrating_again_keeps_the_data(migrated_database: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        await Business.create(name="Kept", support_email="kept@example.com")
    await migrate_database(migrated_database)
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        assert await Business.filter(name="Kept").count() == 1


async def test_products_made_before_dodos_product_fields_get_honest_values(tmp_path: Path) -> None:
    """Migration 0015 on a database that has products: Dodo's general tax category, no metadata, and their creation
    as their last update."""
    made = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with scratch_database_url(tmp_path) as url:
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            await apply_migrations(config=tortoise_config(url), target="portal.0014_stored_documents")
            business = await create_before(Business, {"tax_id"}, name="Kept", support_email="kept@example.com")
            await connections.get("default").execute_query(
                'INSERT INTO "product_collection" ("id", "created_at", "business_id", "livemode", "name") '
                f"VALUES ('pdc_old', '{made.isoformat()}', '{business.id}', true, 'Plans')"
            )
            await connections.get("default").execute_query(
                'INSERT INTO "product" ("id", "created_at", "business_id", "livemode", "name", "description", '
                '"price_type", "price", "currency", "tax_inclusive", "trial_period_days", "license_key_enabled", '
                '"collection_position", "archived") '
                f"VALUES ('pdt_old', '{made.isoformat()}', '{business.id}', true, 'Old', '', 'one_time', 100, 'USD', "
                "false, 0, false, 0, false)"
            )
        await migrate_database(url)
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            product = await Product.get(id="pdt_old")
            collection = await ProductCollection.get(id="pdc_old")

    assert (product.tax_category, product.metadata) == (TaxCategory.DIGITAL_PRODUCTS, {})
    assert product.updated_at == made == collection.updated_at


@pytest.mark.skipif(not uses_postgres(), reason="containers share a PostgreSQL database; SQLite is one machine's file")
async def test_containers_starting_together_migrate_once(tmp_path: Path) -> None:
    async with scratch_database_url(tmp_path) as url:
        commands = [start_portal_process("migrate", database_url=url, cwd=tmp_path) for _ in range(2)]
        outputs = [await asyncio.to_thread(command.communicate, timeout=120) for command in commands]
        assert [command.returncode for command in commands] == [0, 0], [stderr for _, stderr in outputs]
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            applied = await connections.get("default").execute_query_dict(
                "SELECT name, count(*) AS times FROM tortoise_migrations GROUP BY name"
            )
    assert {row["times"] for row in applied} == {1}
    assert len(applied) == len(list(Path("models/migrations").glob("0*.py")))
