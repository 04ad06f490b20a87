"""The portal in a real browser (Playwright driving Debian's chromium), served the way an operator runs it:
`portal migrate`, `portal seed-demo` and `portal serve` in their own process on a temporary SQLite file, the outbox
worker inside the web process, and a real SMTP server receiving the sign-in emails.

Saves the screenshots in docs/screenshots/. Skipped when chromium or Playwright is missing.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.demo_data import DEMO_EMAIL
from tests.portal_support import Mailbox, free_port, html_of, text_of

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUSINESS = "bus_demo_northwind"

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright Python package is not installed")


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


@pytest.fixture
def portal_server(tmp_path: Path, mailbox: Mailbox) -> Iterator[PortalServer]:
    """`portal serve` on a migrated, seeded SQLite file, its output in a log file."""
    port = free_port()
    database = tmp_path / "portal.db"
    environment = portal_environment(f"sqlite://{database}", port, mailbox)
    portal = [sys.executable, "-m", "gateway.cli"]
    for command in ("migrate", "seed-demo"):
        done = subprocess.run([*portal, command], cwd=tmp_path, env=environment, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen([*portal, "serve"], cwd=tmp_path, env=environment, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, server, log)
        yield PortalServer(base_url, log, database)
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture
async def browser_page() -> AsyncIterator:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        try:
            yield await context.new_page()
        finally:
            await browser.close()


async def next_link(mailbox: Mailbox, count: int) -> str:
    """The link of the `count`-th email, once the web process's worker has sent it."""
    for _ in range(100):
        if len(mailbox.messages) >= count:
            return mailbox.links()[count - 1]
        await asyncio.sleep(0.1)
    pytest.fail("no sign-in email arrived")


async def sign_in_by_email(page, mailbox: Mailbox, count: int) -> None:
    await page.fill("#email", DEMO_EMAIL)
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Check your email")
    await page.goto(await next_link(mailbox, count))
    await page.click("form button[type=submit]")
    await page.wait_for_selector(".page-intro")


async def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


async def test_a_customer_signs_in_with_the_emailed_link(portal_server, browser_page, mailbox):
    page, base_url = browser_page, portal_server.base_url
    console_errors = []  # a blocked stylesheet or inline style (CSP) shows up here
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    await page.goto(f"{base_url}/login/{BUSINESS}")
    assert await page.title() == "Sign in · Northwind Analytics"
    await screenshot(page, "login-en.png")

    await sign_in_by_email(page, mailbox, 1)
    assert page.url == f"{base_url}/"
    subscriptions = await page.inner_text("section[aria-labelledby=subscriptions-title]")
    assert "Team" in subscriptions and "Active" in subscriptions
    assert "Northwind Analytics" in await page.inner_text(".topbar")
    await screenshot(page, "portal-en.png")

    await page.goto(f"{base_url}/?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert "الاشتراكات" in await page.inner_text("main")
    await screenshot(page, "portal-ar.png")

    await page.click(".account button[type=submit]")
    await page.wait_for_url(f"{base_url}/login/{BUSINESS}")
    assert await page.get_attribute("html", "lang") == "ar"
    await screenshot(page, "login-ar.png")

    await page.goto(f"{base_url}/login?locale=en")
    await sign_in_by_email(page, mailbox, 2)
    groups = await page.inner_text("main")
    assert all(name in groups for name in ("Northwind Analytics", "Atelier Lumière", "Sakura Fonts"))
    await screenshot(page, "portal-unified-en.png")
    assert console_errors == []

    # A blank page of its own, so the portal's CSP does not apply to the email's inline styles.
    email = await page.context.new_page()
    await email.set_viewport_size({"width": 720, "height": 640})
    await email.set_content(html_of(mailbox.messages[0]))
    await screenshot(email, "email-sign-in-en.png")

    served = portal_server.log.read_text()
    assert "GET /session/cpl_[redacted]" in served
    assert not any(link.rsplit("/", 1)[1] in served for link in mailbox.links())


CARD_NUMBER = "4242 4242 4242 4242"


async def test_ada_reactivates_her_on_hold_subscription_with_a_card_added_on_the_hosted_page(
    portal_server, browser_page, mailbox
):
    page, base_url = browser_page, portal_server.base_url
    await page.goto(f"{base_url}/login/bus_demo_sakura")
    await sign_in_by_email(page, mailbox, 1)
    await page.click("a:has-text('Library Personal')")
    await page.wait_for_selector("#reactivate-title")
    assert "¥980" in await page.inner_text("main")
    await screenshot(page, "subscription-on-hold-en.png")

    await page.goto(f"{page.url}?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await screenshot(page, "subscription-on-hold-ar.png")
    await page.goto(page.url.replace("locale=ar", "locale=en"))

    await page.click("form.add-card button[type=submit]")
    await page.wait_for_url(f"{base_url}/sandbox/setup/*")
    await page.fill("#number", CARD_NUMBER)
    await page.fill("#expiry", "12/34")
    await page.fill("#cvc", "123")
    await screenshot(page, "sandbox-add-card-en.png")
    await page.click("form.card-form button[type=submit]")
    await page.wait_for_selector("#reactivate-title")
    await page.click("form.form-stack button[type=submit]")

    await page.wait_for_url(f"{base_url}/subscriptions/*/reactivated*")
    confirmation = await page.inner_text("main")
    assert "SF-" in confirmation and "¥980" in confirmation
    await screenshot(page, "reactivated-en.png")
    await page.goto(f"{page.url}&locale=ar")
    await screenshot(page, "reactivated-ar.png")

    receipts = [message for message in await wait_for_emails(mailbox, 3) if "980" in text_of(message)]
    assert receipts, "no receipt email arrived"
    stored = (portal_server.database.read_bytes(), portal_server.log.read_text())
    for number in (CARD_NUMBER, CARD_NUMBER.replace(" ", "")):
        assert number.encode() not in stored[0] and number not in stored[1]


async def wait_for_emails(mailbox: Mailbox, count: int) -> list:
    for _ in range(100):
        if len(mailbox.messages) >= count:
            return mailbox.messages
        await asyncio.sleep(0.1)
    pytest.fail(f"{count} emails did not arrive")


async def open_subscription(page, base_url: str, mailbox: Mailbox, business_id: str, product: str) -> None:
    """Sign Ada in to a business's portal and open her subscription to `product`."""
    await page.goto(f"{base_url}/login/{business_id}")
    await sign_in_by_email(page, mailbox, 1)
    await page.get_by_role("link", name=product, exact=True).click()
    await page.wait_for_selector("#details-title")


async def test_ada_resumes_cancels_and_resumes_her_studio_subscription(portal_server, browser_page, mailbox):
    """At Atelier Lumière her Studio subscription is already set to end with its period."""
    page, base_url = browser_page, portal_server.base_url
    await open_subscription(page, base_url, mailbox, "bus_demo_lumiere", "Studio")
    subscription_url = page.url
    assert "Cancels on" in await page.inner_text("main")

    await page.click("button:has-text('Resume')")
    await page.wait_for_selector("text=Your subscription continues.")
    await page.click("a:has-text('Cancel subscription')")
    await page.wait_for_selector("#cancel-title")
    await page.check("input[name=reason][value=UNUSED]")
    await page.fill("#comment", "Back in the spring.")
    await screenshot(page, "cancel-flow-en.png")
    await page.click("button.danger")

    await page.wait_for_url(f"{subscription_url}/cancelled")
    assert "You keep access until" in await page.inner_text(".page-intro")
    await page.click("a:has-text('View subscription')")
    await page.click("button:has-text('Resume')")
    await page.wait_for_selector("text=Your subscription continues.")
    assert "Cancels on" not in await page.inner_text("main")

    await page.goto(f"{subscription_url}/cancel?locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await page.check("input[name=reason][value=TOO_EXPENSIVE]")
    await screenshot(page, "cancel-flow-ar.png")


async def test_ada_previews_and_confirms_an_upgrade_to_business(portal_server, browser_page, mailbox):
    page, base_url = browser_page, portal_server.base_url
    await open_subscription(page, base_url, mailbox, BUSINESS, "Team")
    await page.click("a:has-text('Change plan')")
    await page.check("label.choice:has-text('Business') input")
    await page.click("button:has-text('See the price')")

    await page.wait_for_selector("#preview-title")
    charge = await page.inner_text(".charge")
    assert charge.startswith("$") and charge != "$0.00"
    await screenshot(page, "plan-preview-en.png")
    preview_url = page.url
    await page.goto(f"{preview_url}&locale=ar")
    assert await page.get_attribute("html", "dir") == "rtl"
    await screenshot(page, "plan-preview-ar.png")
    await page.goto(f"{preview_url}&locale=en")

    await page.click("button:has-text('Confirm')")
    await page.wait_for_url(f"{base_url}/subscriptions/*/plan-changed*")
    receipt = await page.inner_text("main")
    assert "NW-" in receipt and charge in receipt and "Business" in receipt
    await screenshot(page, "plan-changed-en.png")
