"""`portal migrate` and `portal makemigrations`: the database schema, through tortoise's migrations."""

import argparse
import asyncio

from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as apply_migrations
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import MigrationWriter

from gateway.settings import Settings
from models.database import tortoise_config
from models.migration_lock import migration_lock


async def migrate_database(database_url: str) -> None:
    """Apply every pending migration, under the lock that makes processes starting together migrate one at a time;
    creates a missing SQLite file."""
    async with migration_lock(database_url), TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await apply_migrations(config=tortoise_config(database_url))


async def pending_migrations() -> list[MigrationWriter]:
    """Migrations the models need beyond the ones written so far (none, when they are in step)."""
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        if context.apps is None:
            raise RuntimeError("tortoise registered no apps")
        return await MigrationAutodetector(context.apps, config["apps"]).changes()


def add_migrate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("migrate", help="apply pending database migrations (DATABASE_URL)")
    parser.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(migrate_database(settings.database_url))
    print("Database is up to date.")
    return 0


def add_makemigrations_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("makemigrations", help="write a migration for model changes (for developers)")
    parser.set_defaults(handler=_makemigrations)


def _makemigrations(args: argparse.Namespace, settings: Settings) -> int:
    writers = asyncio.run(pending_migrations())
    for writer in writers:
        print(f"Wrote {writer.write()}")
    if not writers:
        print("No model changes.")
    return 0
