"""Test fixtures: one database per run (SQLite in memory, or TEST_DATABASE_URL for PostgreSQL), emptied after
every test; an ASGI client; a counter of the SQL statements a block of code runs. At the end of a run, a plain line
when the browser tests were skipped, so a missing chromium does not pass unnoticed."""

import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import cache
from graphlib import TopologicalSorter

import httpx
import pytest
from tortoise import Tortoise, connections

from gateway.app import create_app
from gateway.settings import Settings
from models.database import connect, disconnect

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite://:memory:")

# Plugins, for their fixtures (tests/support/__init__.py says what each module holds): the SMTP mailbox, settings
# and HTTP client of the page, email and browser tests (portal); the billing context of the billing tests (billing);
# the business Acme of the merchant API tests (merchant); the pages' client (pages); a webhook receiver (webhooks); a
# paid sale (sales); databases copied from a migrated or seeded template (databases); the served portal, chromium and
# screenshot folder of the browser tests (browser), the demo data (demo) and the Stripe emulator
# (localstripe).
pytest_plugins = (
    "tests.support.portal",
    "tests.support.billing",
    "tests.support.merchant",
    "tests.support.pages",
    "tests.support.webhooks",
    "tests.support.sales",
    "tests.support.databases",
    "tests.support.browser",
    "tests.support.demo",
    "tests.support.localstripe",
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Imported here, not above: pytest_plugins must load the module first, or its asserts are not rewritten.
    from tests.support.browser import missing_browser

    reason = missing_browser()
    skipped = terminalreporter.stats.get("skipped", [])
    if reason and any(reason in str(report.longrepr) for report in skipped):
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True, bold=True)


@pytest.fixture(scope="session", autouse=True)
async def database() -> AsyncIterator[None]:
    await connect(TEST_DATABASE_URL)
    await Tortoise.generate_schemas()
    yield
    await disconnect()


@cache
def _tables_children_first() -> list[str]:
    """Every table, each before the tables it references, so plain DELETEs empty them without tripping a foreign
    key: far cheaper than TRUNCATE on PostgreSQL, which makes new files for every table it empties."""
    references: dict[str, set[str]] = {}
    for model in Tortoise.apps["portal"].values():
        meta = model._meta
        related = [meta.fields_map[name].related_model._meta.db_table for name in meta.fk_fields | meta.o2o_fields]
        references[meta.db_table] = set(related)
    return list(reversed(list(TopologicalSorter(references).static_order())))


@pytest.fixture(autouse=True)
async def empty_tables(database: None) -> AsyncIterator[None]:
    yield
    statements = "".join(f'DELETE FROM "{table}";' for table in _tables_children_first())
    await connections.get("default").execute_script(statements)


class StatementCounter(logging.Handler):
    """Counts the SQL statements tortoise sends while attached."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection pool", "Closed connection pool")):
            self.statements.append(message)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements() -> Iterator:
    """`with count_statements() as counter: …` then `counter.count`."""
    logger = logging.getLogger("tortoise.db_client")

    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(counter)
        try:
            yield counter
        finally:
            logger.removeHandler(counter)
            logger.setLevel(previous)

    yield counting


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url=TEST_DATABASE_URL,
        base_url="http://localhost",
        secret_key="test-secret-key-not-for-production",
        run_worker_in_web=False,
        # The tests' shops are mostly live-mode ones, charged by the sandbox as in the demo.
        sandbox_in_live_mode=True,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process at its base URL (the database is the test database); a module
    whose app needs other settings overrides `settings`."""
    app = create_app(settings, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url) as http:
        yield http
