"""What the page tests share: a client of the app at the pages' address (the `http` fixture, with the app's
`billing_settings`), signing in with a session's cookie, and reading a page: its alert, its form's idempotency key,
its text without what differs between two answers, its cards' marks as their names; and pressing a confirmation
page's button."""

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.support.billing import BASE_URL

IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
ALERT = re.compile(r'role="alert">([^<]*)<')
CARD_MARK = re.compile(r'<svg class="card-mark" role="img" aria-label="([^"]+)".*?</svg>', re.S)


@pytest.fixture
def billing_settings() -> Settings:
    # The pages' shops are live-mode ones, charged by the sandbox as in the demo.
    return Settings(base_url=BASE_URL, secret_key="test-secret-key", run_worker_in_web=False, sandbox_in_live_mode=True)


@pytest.fixture
async def http(billing_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, with its billing context and the sandbox processor's hosted pages."""
    app = create_app(billing_settings, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


async def sign_in(http: httpx.AsyncClient, token: str) -> None:
    http.cookies.set("portal_session", token)


def cards_named(page: httpx.Response) -> str:
    """The page with each card network's mark (card_marks.html) as the name it gives screen readers."""
    return CARD_MARK.sub(r"\1", page.text)


def alert(page: httpx.Response) -> str:
    match = ALERT.search(page.text)
    return match[1] if match else ""


def without_noise(page: httpx.Response, asked_id: str) -> str:
    """A page without its CSP nonce and the id that was asked for (the language links repeat the path)."""
    return re.sub(r'nonce="[^"]+"', "", page.text).replace(asked_id, "ID")


CONFIRMING_FORM = re.compile(r'<form method="post" action="([^"]+)">(.*?)</form>', re.S)
HIDDEN_FIELD = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')


def confirming_form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """The address and fields of a confirmation page's (confirm_action.html) form: the button that does the action."""
    found = next(form for form in CONFIRMING_FORM.finditer(page.text) if 'name="confirmed"' in form[2])
    return html.unescape(found[1]), {name: html.unescape(value) for name, value in HIDDEN_FIELD.findall(found[2])}


async def confirm(http: httpx.AsyncClient, address: str) -> tuple[httpx.Response, httpx.Response]:
    """Open the confirmation at `address` (the first click of an action) and press its button: the confirmation
    page and the answer to the button."""
    page = await http.get(address)
    action, fields = confirming_form(page)
    return page, await http.post(action, data=fields)
