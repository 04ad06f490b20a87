"""Whether the database is migrated as far as this code expects: the migration files shipped with it (in
models/migrations) against the ones `portal migrate` recorded as applied in tortoise's bookkeeping table."""

import functools
import pkgutil

from tortoise.backends.base.client import BaseDBAsyncClient

from models import migrations
from models.database import APP_LABEL

MIGRATIONS_TABLE = "tortoise_migrations"


@functools.cache
def shipped_migrations() -> frozenset[str]:
    """The names of the migrations this code ships, as tortoise's loader finds them."""
    return frozenset(
        name
        for _, name, is_package in pkgutil.iter_modules(migrations.__path__)
        if not is_package and name[0] not in "_~"
    )


async def unapplied_migrations(connection: BaseDBAsyncClient) -> list[str]:
    """The shipped migrations the database has not applied, in order; raises when it has no bookkeeping table (it
    was never migrated). Migrations it has and this code lacks (a newer version's) are no concern of this code."""
    # The app label is a constant of ours, not input: written into the statement, which then reads the same on
    # SQLite and PostgreSQL.
    _, rows = await connection.execute_query(f"SELECT name FROM {MIGRATIONS_TABLE} WHERE app = '{APP_LABEL}'")
    return sorted(shipped_migrations() - {row["name"] for row in rows})
