"""`portal migrate`'s lock, so that containers starting together migrate once: the first applies the pending
migrations while the others wait, then find nothing left to do.

On PostgreSQL it is an advisory lock taken with `pg_advisory_xact_lock` in a transaction held open, on a connection
of its own, for the whole run: the lock ends with the transaction however the run ends (done, failed, or the process
killed and its connection dropped), and a transaction-mode pooler keeps one server connection for an open
transaction, so it holds through PgBouncer too. A process waiting for it asks again every `RETRY` rather than wait
inside a transaction: behind a pooler a waiting transaction holds a server connection, and enough waiters would take
every one the holder needs to finish. SQLite is one file on one machine and needs none.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url

from models.database import behind_pooler, is_sqlite

# Any 64-bit number no other lock of the database uses; these are the bytes of "portalmg".
MIGRATION_LOCK = 0x706F7274616C6D67
RETRY = 0.5


@contextlib.asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the database's migration lock, waiting for another holder to finish first."""
    url, _ = behind_pooler(database_url)
    if is_sqlite(url):
        yield
        return
    credentials = expand_db_url(url)["credentials"]
    connection = await asyncpg.connect(
        host=credentials["host"],
        port=credentials["port"],
        user=credentials["user"],
        password=credentials["password"],
        database=credentials["database"],
        statement_cache_size=0,
    )
    try:
        while True:
            async with connection.transaction():
                if await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", MIGRATION_LOCK):
                    yield
                    return
            await asyncio.sleep(RETRY)
    finally:
        await connection.close()
