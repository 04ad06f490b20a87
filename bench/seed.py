"""Seeding the benchmark database: create it, create the project's tables, COPY the data set of bench/dataset.py
into it, and mark it seeded so a second run skips the work.

    python -m bench.seed [--database-url URL] [--scale 1.0] [--force]

Only a database this script created is ever dropped: it carries a comment saying so (`--force` reseeds it).
The schema comes from the models (tortoise's generate_schemas, safe mode). On an already seeded database that
step still runs: it creates only what is missing, such as an index the models gained since the seed, and the
script prints the indexes it added.
"""

import argparse
import asyncio
import re
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise, connections
from tortoise.utils import get_schema_sql
from tqdm import tqdm

from bench.dataset import CUSTOMERS_PER_BATCH, Batch, Generator, Sizes
from models.database import APP_LABEL, connect, disconnect

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
_OURS = "bench/seed.py"


def seeded_marker(scale: float) -> str:
    return f"{_OURS}: seeded at scale {scale}"


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def maintenance_url(database_url: str) -> str:
    """The same server's `postgres` database, from which ours is created and dropped."""
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres"))


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Stopwatch:
    """Prints how long each phase took, and the total at the end."""

    def __init__(self) -> None:
        self.started = self.lap_started = time.perf_counter()

    def lap(self, what: str) -> None:
        now = time.perf_counter()
        print(f"{what}: {now - self.lap_started:.1f} s")
        self.lap_started = now

    def total(self) -> None:
        print(f"total: {time.perf_counter() - self.started:.1f} s")


async def database_comment(server: asyncpg.Connection, name: str) -> str | None:
    """The comment of a database, '' when it has none, None when it does not exist."""
    row = await server.fetchrow(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS comment FROM pg_database WHERE datname = $1",
        name,
    )
    return None if row is None else row["comment"]


async def prepare_database(database_url: str, scale: float, force: bool) -> bool:
    """Make sure the database exists and is ours; True when it already holds this scale's data set."""
    name = database_name(database_url)
    server = await asyncpg.connect(maintenance_url(database_url))
    try:
        comment = await database_comment(server, name)
        if comment == seeded_marker(scale) and not force:
            return True
        if comment is not None and not comment.startswith(_OURS):
            raise SystemExit(f"database {name!r} exists and was not created by {_OURS}; refusing to touch it")
        if comment is not None:
            await server.execute(f"DROP DATABASE {quoted(name)} WITH (FORCE)")
        await server.execute(f"CREATE DATABASE {quoted(name)}")
        await server.execute(f"COMMENT ON DATABASE {quoted(name)} IS '{_OURS}: seeding'")
        return False
    finally:
        await server.close()


async def index_names(connection: asyncpg.Connection) -> set[str]:
    """The database's indexes, less those behind primary key and unique constraints."""
    names = await connection.fetchval("""
        SELECT array_agg(index.relname) FROM pg_index JOIN pg_class index ON index.oid = pg_index.indexrelid
        WHERE index.relnamespace = 'public'::regnamespace AND NOT EXISTS (
            SELECT FROM pg_constraint WHERE conindid = pg_index.indexrelid AND contype IN ('p', 'u', 'x'))
    """)
    return set(names or ())


async def model_index_names(database_url: str) -> set[str]:
    """The names of the indexes tortoise creates for the models (the unique ones come with their tables)."""
    await connect(database_url)
    try:
        sql = get_schema_sql(connections.get("default"), safe=True)
    finally:
        await disconnect()
    return set(re.findall(r'CREATE INDEX IF NOT EXISTS "([^"]+)"', sql))


async def create_schema(database_url: str) -> dict[str, dict[str, Any]]:
    """The project's tables, as the tests create them; the bench database is throwaway, so no migrations.
    Safe mode (CREATE … IF NOT EXISTS) only adds what is missing. Returns the models' column defaults."""
    await connect(database_url)
    try:
        await Tortoise.generate_schemas(safe=True)
        return model_defaults()
    finally:
        await disconnect()


def model_defaults() -> dict[str, dict[str, Any]]:
    """Per table, the database value of every column whose model field has a default, so the data set only
    spells out what it varies, and a column the models gain later needs no change there."""
    defaults: dict[str, dict[str, Any]] = {}
    for model in Tortoise.apps[APP_LABEL].values():
        meta = model._meta
        defaults[meta.db_table] = {
            meta.fields_db_projection[name]: field.to_db_value(
                field.default() if callable(field.default) else field.default, model
            )
            for name, field in meta.fields_map.items()
            if name in meta.fields_db_projection and field.default is not None
        }
    return defaults


async def copy_batch(connection: asyncpg.Connection, batch: Batch, defaults: dict[str, dict[str, Any]]) -> None:
    for table, rows in batch.rows.items():
        missing = {column: value for column, value in defaults.get(table, {}).items() if column not in rows[0]}
        columns = [*rows[0], *missing]
        records = [(*row.values(), *missing.values()) for row in rows]
        await connection.copy_records_to_table(table, records=records, columns=columns)


async def copy_data_set(connection: asyncpg.Connection, generator: Generator, defaults: dict) -> Counter:
    """COPY every batch, with a progress bar over customers; the row count of each table."""
    # The rows are consistent by construction: skipping the per-row foreign key triggers makes COPY much faster.
    await connection.execute("SET session_replication_role = replica")
    await connection.execute("SET synchronous_commit = off")
    counts: Counter = Counter()
    with tqdm(total=generator.customer_count(), unit="customer", smoothing=0.05) as progress:
        for batch in generator.batches():
            await copy_batch(connection, batch, defaults)
            counts.update({table: len(rows) for table, rows in batch.rows.items()})
            progress.update(batch.count("customer"))
            progress.set_postfix(invoices=f"{counts['invoice']:,}")
    return counts


async def seed(database_url: str, scale: float, force: bool) -> None:
    clock = Stopwatch()
    name = database_name(database_url)
    already = await prepare_database(database_url, scale, force)
    connection = await asyncpg.connect(database_url)
    try:
        before = await index_names(connection)
        defaults = await create_schema(database_url)
        clock.lap("schema")
        if already:
            print(f"{name} already holds the data set at scale {scale}: skipping the data (--force reseeds)")
            added = sorted(await index_names(connection) - before)
            if added:
                print(f"indexes the models gained since the seed, created by the schema step: {', '.join(added)}")
                await connection.execute("ANALYZE")
                clock.lap("analyze")
        else:
            counts = await copy_data_set(connection, Generator(Sizes.scaled(scale)), defaults)
            clock.lap(f"copy ({CUSTOMERS_PER_BATCH:,} customers per batch)")
            # Fresh statistics and visibility map: the planner and index-only scans see a settled database.
            await connection.execute("VACUUM ANALYZE")
            clock.lap("vacuum analyze")
            await connection.execute(f"COMMENT ON DATABASE {quoted(name)} IS '{seeded_marker(scale)}'")
            for table, count in counts.items():
                print(f"  {table:<22}{count:>12,}")
    finally:
        await connection.close()
    clock.total()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1,000 businesses, 100k customers, 1M invoices")
    parser.add_argument("--force", action="store_true", help="reseed even when the data set is there")
    args = parser.parse_args()
    asyncio.run(seed(args.database_url, args.scale, args.force))


if __name__ == "__main__":
    main()
