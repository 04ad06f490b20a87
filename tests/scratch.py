"""A scratch database of the same kind as the test database: an empty SQLite file, or a fresh PostgreSQL database
on the TEST_DATABASE_URL server that is dropped afterwards. For tests that need a database of their own (migrations,
the CLI in a subprocess)."""

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tortoise import connections

from tests.conftest import TEST_DATABASE_URL


def uses_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://"))


@contextlib.asynccontextmanager
async def scratch_database_url(directory: Path) -> AsyncIterator[str]:
    """The URL of an empty database; needs the session's test database to be connected."""
    if not uses_postgres():
        yield f"sqlite://{directory / 'scratch.db'}"
        return
    parts = urlsplit(TEST_DATABASE_URL)
    name = f"{parts.path.lstrip('/')[:40]}_scratch_{secrets.token_hex(4)}"
    server = connections.get("default")
    await server.execute_script(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await server.execute_script(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
