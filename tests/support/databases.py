"""Databases of a test's own, of the same kind as the test database (a SQLite file, or a PostgreSQL database on the
TEST_DATABASE_URL server, dropped afterwards), for tests that run the `portal` command or migrations on a database of
their own.

Migrating and seeding take seconds, so a run does each once, into a template, and a test gets a copy of it: a file
copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL. Fixtures: `migrated_database` (the migrations applied,
no rows) and `demo_database` (migrated, then `portal seed-demo`), each the URL of the test's copy; the
session-scoped templates are the originals, not to be written to. `demo_sqlite_template` is a SQLite file whatever
the test database, for the portals the browser tests serve.
"""

import contextlib
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from tortoise import connections
from tortoise.models import Model

from core.clock import utcnow
from models.database import behind_pooler
from tests.conftest import TEST_DATABASE_URL
from tests.support.cli import portal

M = TypeVar("M", bound=Model)


def uses_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres://", "postgresql://", "asyncpg://", "psycopg://"))


async def create_before(model: type[M], added: set[str], **values: object) -> M:
    """A row written into a table as an older migration left it, without the columns `added` since (Model.create
    writes every column of today's model, which such a table does not have yet)."""
    row = model(created_at=utcnow(), **values)
    meta = model._meta
    names = [name for name in meta.fields_db_projection if meta.fields_db_projection[name] not in added]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    marks = ", ".join(f"${index}" if uses_postgres() else "?" for index in range(1, len(names) + 1))
    params = [meta.fields_map[name].to_db_value(getattr(row, name), row) for name in names]
    await connections.get("default").execute_query(
        f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})', params
    )
    return row


@contextlib.asynccontextmanager
async def scratch_database_url(directory: Path, template: str | None = None) -> AsyncIterator[str]:
    """The URL of an empty database, or of a copy of the database at `template`; needs the session's test database
    to be connected."""
    if not uses_postgres():
        path = directory / "scratch.db"
        if template is not None:
            copy_sqlite(_sqlite_path(template), path)
        yield f"sqlite://{path}"
        return
    if template is not None and behind_pooler(TEST_DATABASE_URL)[1]:
        # PgBouncer keeps server connections to the template open, and PostgreSQL copies no database in use.
        pytest.skip("a database template cannot be copied through a transaction-mode pooler")
    parts = urlsplit(TEST_DATABASE_URL)
    name = f"{parts.path.lstrip('/')[:40]}_scratch_{secrets.token_hex(4)}"
    copy = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    server = connections.get("default")
    await server.execute_script(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await server.execute_script(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite://"))


def copy_sqlite(source: Path, target: Path) -> None:
    # SQLite's backup copies the pages whatever the journal mode, where a plain file copy could miss a WAL file.
    with contextlib.closing(sqlite3.connect(source)) as original, contextlib.closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, whatever the test database."""
    path = tmp_path_factory.mktemp("migrated-sqlite") / "portal.db"
    done = portal("migrate", database_url=f"sqlite://{path}", cwd=path.parent)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="session")
async def migrated_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, database: None
) -> AsyncIterator[str]:
    if not uses_postgres():
        yield f"sqlite://{request.getfixturevalue('migrated_sqlite_template')}"
        return
    directory = tmp_path_factory.mktemp("migrated")
    async with scratch_database_url(directory) as url:
        done = portal("migrate", database_url=url, cwd=directory)
        assert done.returncode == 0, done.stderr
        yield url


@pytest.fixture(scope="session")
def demo_sqlite_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_template: Path) -> Path:
    """A migrated SQLite file with the demo data, whatever the test database, for the portals the browser tests
    serve."""
    path = tmp_path_factory.mktemp("demo-sqlite") / "portal.db"
    copy_sqlite(migrated_sqlite_template, path)
    done = portal("seed-demo", database_url=f"sqlite://{path}", cwd=path.parent)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="session")
async def demo_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> AsyncIterator[str]:
    if not uses_postgres():
        yield f"sqlite://{request.getfixturevalue('demo_sqlite_template')}"
        return
    directory = tmp_path_factory.mktemp("demo")
    async with scratch_database_url(directory, template=migrated_template) as url:
        done = portal("seed-demo", database_url=url, cwd=directory)
        assert done.returncode == 0, done.stderr
        yield url


@pytest.fixture
async def migrated_database(migrated_template: str, tmp_path: Path) -> AsyncIterator[str]:
    async with scratch_database_url(tmp_path, template=migrated_template) as url:
        yield url


@pytest.fixture
async def demo_database(demo_template: str, tmp_path: Path) -> AsyncIterator[str]:
    async with scratch_database_url(tmp_path, template=demo_template) as url:
        yield url
