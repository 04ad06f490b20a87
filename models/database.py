"""Connecting tortoise to the database named by a URL (`sqlite://…` or `postgres://…`), and telling a database that
cannot be reached right now from a statement it refused.

A PostgreSQL URL ending in `?pgbouncer=true` (Prisma's spelling of the same thing) names a connection pooler in
transaction mode, such as PgBouncer: every transaction may run on another server connection, so nothing may outlive
a transaction on the server. asyncpg's cache of prepared statements is then off; the portal holds no session
state otherwise (no `SET`, no `LISTEN`; `portal migrate`'s lock is transaction-scoped, see models/migration_lock.py).
"""

import socket
import sqlite3
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

APP_LABEL = "portal"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# What the drivers raise when the database cannot be reached: no connection (refused, reset, lost mid-statement, a
# host name that does not resolve), a PostgreSQL server starting up, shutting down or out of connection slots
# (PgBouncer's own refusals are connection errors too).
_UNREACHABLE = (
    DBConnectionError,
    ConnectionError,
    socket.gaierror,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
# SQLite's: a file that cannot be opened or read, or that another process keeps locked past the busy timeout.
_SQLITE_UNREACHABLE = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR}
)


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise configuration for our one app, its models and its migrations."""
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            APP_LABEL: {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def behind_pooler(database_url: str) -> tuple[str, bool]:
    """The URL without its `pgbouncer` flag, and whether the flag says a transaction-mode pooler is in between."""
    parts = urlsplit(database_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value.lower() for name, value in query if name == "pgbouncer"]
    if not flags:
        return database_url, False
    rest = urlencode([(name, value) for name, value in query if name != "pgbouncer"])
    return urlunsplit(parts._replace(query=rest)), flags[-1] in {"true", "1"}


def _connection(database_url: str) -> str | dict[str, Any]:
    url, pooled = behind_pooler(database_url)
    if is_sqlite(url):
        connection = expand_db_url(url)
        # SQLite has one write lock per file: a command run beside a serving portal (`portal business update`)
        # waits for the worker's write to end rather than fail after sqlite3's 5 seconds.
        connection["credentials"].setdefault("busy_timeout", SQLITE_BUSY_TIMEOUT_MS)
        return connection
    if not pooled:
        return url
    connection = expand_db_url(url)
    # A statement prepared in one transaction may be looked up on another server connection in the next one.
    connection["credentials"]["statement_cache_size"] = 0
    return connection


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite:")


async def connect(database_url: str) -> None:
    """Open the connection for this process; every task of the process shares it."""
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
    await Tortoise.close_connections()


def is_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised from or while handling, says the database cannot be reached right
    now, so that trying again later may work. A statement the database refused (a constraint, a missing table) is
    not: retrying it fails the same way."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNREACHABLE) or _is_sqlite_unreachable(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_sqlite_unreachable(error: BaseException) -> bool:
    # The primary result code is the low byte of an extended one (SQLITE_IOERR_READ is SQLITE_IOERR | 1 << 8).
    code = getattr(error, "sqlite_errorcode", 0)
    return isinstance(error, sqlite3.OperationalError) and code & 0xFF in _SQLITE_UNREACHABLE
