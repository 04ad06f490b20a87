"""What the browser tests share: the demo portal served the way an operator runs it (`portal serve` in its own
process on a copy of a SQLite file made once per run by `portal migrate` and `portal seed-demo`, the outbox worker
inside the web process, sign-in emails sent to a real SMTP server), the demo businesses' deep links into it, one
chromium for the whole run, signing Ada in by email, and where screenshots go.

tests/conftest.py loads it as a plugin, for its fixtures: `browser` (chromium, once per run), `browser_page` (a fresh
page of it), `portal_server` (a portal of one's own for one test), `reading_portal` (one portal for a module's tests
that only read, sending to `mailbox_for_module`) and `screenshots` (the folder screenshots are saved in:
docs/screenshots/ when PORTAL_REFRESH_SCREENSHOTS is set, and then only with fonts for every language pictured, else a
temporary folder, so a test run leaves the committed pictures alone).

A browser test module calls `require_browser()` first: without chromium or Playwright it is skipped on a developer's
machine, and fails under CI, whose run must include it. Playwright is imported only by the fixtures, so loading this
plugin needs neither.
"""

import asyncio
import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.demo.seed import DEMO_EMAIL
from tests.support.databases import copy_sqlite
from tests.support.portal import LINK, Mailbox, free_port, text_of

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
COMMITTED_SCREENSHOTS = ROOT / "docs" / "screenshots"
REFRESH_SCREENSHOTS = "PORTAL_REFRESH_SCREENSHOTS"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 860}
# The sandbox processor's test cards: every charge succeeds; every charge asks for 3-D Secure.
CARD_NUMBER = "4242 4242 4242 4242"
CHALLENGED_CARD_NUMBER = "4000 0027 6000 3184"


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


def require_browser() -> None:
    """At the top of a browser test module: skip it where the browser is missing, but fail it under CI, where
    .ci/run installs chromium, so that a green CI run always includes the browser tests."""
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def portal_environment(database_url: str, port: int, mailbox: Mailbox) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "DATABASE_URL": database_url,
        "PORTAL_HOST": "127.0.0.1",
        "PORTAL_PORT": str(port),
        "PORTAL_SECRET_KEY": "browser-test-secret",
        "PORTAL_WORKER_IN_WEB": "true",
        "PORTAL_WORKER_POLL_SECONDS": "0.2",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "portal@portal.example",
        # The demo's shops are live-mode ones, charged by the sandbox as `portal demo` lets it.
        "PORTAL_SANDBOX_IN_LIVE_MODE": "true",
    }


def wait_until_serving(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"portal serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            httpx.get(f"{base_url}/login", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"portal serve did not answer within 30 s:\n{log.read_text()}")


@dataclass(frozen=True)
class PortalServer:
    base_url: str
    log: Path
    database: Path
    # What the `portal` CLI needs to work on the same database (`portal api-key create`, say).
    directory: Path
    environment: dict[str, str]


PORTAL_CLI = [sys.executable, "-m", "gateway.cli"]


@contextmanager
def serve_demo_portal(directory: Path, mailbox: Mailbox, demo: Path, **settings: str) -> Iterator[PortalServer]:
    """`portal serve` on a copy of `demo` (a migrated SQLite file seeded with `portal seed-demo`, the
    `demo_sqlite_template` fixture) in `directory`, its output in a log file there; `settings` are more environment
    variables (`PORTAL_SIGN_IN_LINK_SECONDS="10"`)."""
    port, database = free_port(), directory / "portal.db"
    environment = {**portal_environment(f"sqlite://{database}", port, mailbox), **settings}
    copy_sqlite(demo, database)
    log = directory / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen([*PORTAL_CLI, "serve"], cwd=directory, env=environment, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, server, log)
        yield PortalServer(base_url, log, database, directory, environment)
    finally:
        server.terminate()
        server.wait(timeout=15)


_SECRET_KEY = re.compile(r"sk_live_\S+")


@dataclass(frozen=True)
class Merchants:
    """The demo businesses as their own sites act on the served portal: reading their ids and making deep links into
    a customer's portal with a live API key (`Merchants.with_keys`)."""

    server: PortalServer
    api_keys: dict[str, str]

    @classmethod
    def with_keys(cls, server: PortalServer, business_ids: tuple[str, ...]) -> "Merchants":
        """A live API key for each business, made with the operator's CLI (side by side, to save time)."""
        create = [*PORTAL_CLI, "api-key", "create", "--mode", "live", "--business"]
        runs = {
            business_id: subprocess.Popen(
                [*create, business_id], cwd=server.directory, env=server.environment, stdout=subprocess.PIPE, text=True
            )
            for business_id in business_ids
        }
        return cls(
            server, {business_id: _SECRET_KEY.search(run.communicate()[0])[0] for business_id, run in runs.items()}
        )

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def demo_id(self, query: str, *parameters: str) -> str:
        """One id of the demo data, read straight from the served SQLite file."""
        with sqlite3.connect(self.server.database) as database:
            return database.execute(query, parameters).fetchone()[0]

    def customer(self, business_id: str, email: str) -> str:
        query = "SELECT id FROM customer WHERE business_id = ? AND email = ? AND livemode = 1"
        return self.demo_id(query, business_id, email)

    def subscription(self, business_id: str, email: str, product: str) -> str:
        query = (
            "SELECT subscription.id FROM subscription JOIN product ON product.id = subscription.product_id "
            "WHERE subscription.customer_id = ? AND product.name = ?"
        )
        return self.demo_id(query, self.customer(business_id, email), product)

    def product(self, business_id: str, name: str) -> str:
        return self.demo_id(
            "SELECT id FROM product WHERE business_id = ? AND name = ? AND livemode = 1", business_id, name
        )

    def deep_link(self, business_id: str, email: str, flow_data: dict, **params: str) -> str:
        """The link the merchant's REST call answers."""
        response = httpx.post(
            f"{self.base_url}/customers/{self.customer(business_id, email)}/customer-portal/session",
            params=params,
            json={"flow_data": flow_data},
            headers={"Authorization": f"Bearer {self.api_keys[business_id]}"},
        )
        assert response.status_code == 200, response.text
        return response.json()["link"]


@contextmanager
def started_mailbox() -> Iterator[Mailbox]:
    """A mailbox for a fixture that outlives one test (tests/support/portal.py's `mailbox` is per test)."""
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def portal_server(tmp_path: Path, mailbox: Mailbox, demo_sqlite_template: Path) -> Iterator[PortalServer]:
    """A demo portal of this test's own, free to change."""
    with serve_demo_portal(tmp_path, mailbox, demo_sqlite_template) as server:
        yield server


@pytest.fixture(scope="module")
def mailbox_for_module() -> Iterator[Mailbox]:
    with started_mailbox() as mailbox:
        yield mailbox


@pytest.fixture(scope="module")
def reading_portal(
    tmp_path_factory: pytest.TempPathFactory, mailbox_for_module: Mailbox, demo_sqlite_template: Path
) -> Iterator[PortalServer]:
    """A demo portal shared by the tests of a module that only read the demo data (signing in and out changes no
    data), sending to `mailbox_for_module`. Each test reads only the emails that arrive after it starts, so the tests
    pass in any order; together they stay under the five sign-in emails an address may ask for in 15 minutes."""
    with serve_demo_portal(tmp_path_factory.mktemp("reading"), mailbox_for_module, demo_sqlite_template) as server:
        yield server


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser_page(browser) -> AsyncIterator:
    """A page in a fresh browser context (no cookies), 1280 px wide, in American English."""
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    try:
        yield await context.new_page()
    finally:
        await context.close()


@dataclass(frozen=True)
class Screenshots:
    folder: Path

    async def save(self, page, name: str) -> None:
        await page.screenshot(path=str(self.folder / name), full_page=True)


def has_font_for(language: str) -> bool:
    """Whether fontconfig knows a font that covers `language` (`ja`, `zh-cn`)."""
    return bool(subprocess.run(["fc-list", f":lang={language}"], capture_output=True, text=True).stdout.strip())


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    if not os.environ.get(REFRESH_SCREENSHOTS):
        return Screenshots(tmp_path_factory.mktemp("screenshots"))
    # Without one, the committed Japanese and Chinese pictures would show boxes instead of words.
    if not (has_font_for("ja") and has_font_for("zh-cn")):
        pytest.fail("refreshing the screenshots needs a Japanese and Chinese font: apt-get install fonts-noto-cjk")
    COMMITTED_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Screenshots(COMMITTED_SCREENSHOTS)


async def emailed_link(mailbox: Mailbox, seen: int, pattern: re.Pattern[str]) -> str:
    """The first link matching `pattern` in the emails after the mailbox's `seen` first messages (receipts and
    confirmations come in between), once the web process's worker has sent it."""
    for _ in range(100):
        for message in mailbox.messages[seen:]:
            if link := pattern.search(text_of(message)):
                return link[0]
        await asyncio.sleep(0.1)
    pytest.fail(f"no email with a link like {pattern.pattern} arrived")


async def sign_in_link(mailbox: Mailbox, seen: int) -> str:
    """The link of the first sign-in email after the mailbox's `seen` first messages."""
    return await emailed_link(mailbox, seen, LINK)


async def ask_for_link(page, email: str = DEMO_EMAIL) -> None:
    """On a sign-in page: send the email address and wait for the answer ("Check your email", in any language)."""
    await page.fill("#email", email)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def confirm_link(page, link: str) -> None:
    """Open an emailed link and press its confirm button, landing in the portal."""
    await page.goto(link)
    await page.click("form button[type=submit]")
    await page.wait_for_selector(".page-intro")


async def sign_in_by_email(page, mailbox: Mailbox) -> str:
    """On a sign-in page: ask for Ada's link and follow it; returns the link (used up)."""
    seen = len(mailbox.messages)
    await ask_for_link(page)
    link = await sign_in_link(mailbox, seen)
    await confirm_link(page, link)
    return link


async def fill_in_test_card(page, number: str = CARD_NUMBER) -> None:
    """On the sandbox's hosted "add a card" page: type a test card, by default the one that always pays (the caller
    submits it)."""
    await page.fill("#number", number)
    await page.fill("#expiry", "12/34")
    await page.fill("#cvc", "123")
