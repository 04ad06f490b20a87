"""What the server writes down of a request's address: uvicorn's access log (the portal served by uvicorn, as
`portal serve` runs it) and the portal's own request log never hold a secret that an address carries — a sign-in,
magic or email-change link's token, the sandbox's hosted card page and 3-D Secure challenge, the CSRF token and card
token of the processor round trip, a code or token a client put in the query — while the rest of the address stays
readable. Every path parameter of the app is known to be a secret or not, so a new route has to say which."""

import asyncio
import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from starlette.routing import Route

from core.tokens import LINK_PREFIX
from gateway.app import create_app
from gateway.http.log_redaction import redact_secrets
from gateway.pages import sandbox as sandbox_pages
from gateway.settings import Settings
from tests.support.billing import subscriber
from tests.support.factories import business_token
from tests.support.portal import csrf_from, free_port

ACCESS_LOGGER = "uvicorn.access"
# Path parameters that name rows a request must still be allowed to see: no secret, and worth reading in a log.
NOT_SECRET = {
    "business_id",
    "customer_id",
    "subscription_id",
    "payment_id",
    "invoice_id",
    "refund_id",
    "license_key_id",
    "token_id",
    "mode",
    "instance_id",
    "discount_id",
    "webhook_id",
    "product_id",
    "collection_id",
    # A checkout's return from the processor: paying there needs the `state` only its link's visitor has.
    "session_id",
}


@dataclass
class Served:
    http: httpx.AsyncClient
    caplog: pytest.LogCaptureFixture

    def lines(self) -> list[str]:
        """Every line the server logged: uvicorn's access log and the portal's own loggers."""
        return [record.getMessage() for record in self.caplog.records if not record.name.startswith("httpx")]

    def access_lines(self) -> list[str]:
        return [record.getMessage() for record in self.caplog.records if record.name == ACCESS_LOGGER]


@pytest.fixture
async def served(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Served]:
    """The portal behind a real uvicorn that sets up its own logging, as `portal serve` runs it: its access log
    does not propagate, so the capture listens on it directly."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(Settings(**{**settings.__dict__, "base_url": base_url}), manage_database=False)
    server = uvicorn.Server(uvicorn.Config(app, port=port, lifespan="off", log_level="info"))
    access_log = logging.getLogger(ACCESS_LOGGER)
    access_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=base_url) as http:
            yield Served(http, caplog)
    finally:
        server.should_exit = True
        await serving
        access_log.removeHandler(caplog.handler)


def assert_kept_out(served: Served, *kept_out: str) -> None:
    lines = served.lines()
    assert served.access_lines(), "uvicorn's access log wrote nothing: the test would prove nothing"
    leaked = [line for line in lines for secret in kept_out if secret in line]
    assert not leaked, leaked


async def test_the_add_card_round_trip_leaves_no_csrf_token_card_page_or_card_token_in_the_log(
    served: Served, context
) -> None:
    shop = await subscriber(context)
    served.http.cookies.set("portal_session", await business_token(shop.customer))
    page = await served.http.get("/payment-methods")
    csrf = csrf_from(page)

    hosted_url = (
        await served.http.post("/payment-methods/new", data={"csrf_token": csrf, "business": shop.business.id})
    ).headers["location"]
    hosted = await served.http.get(hosted_url)
    card = {"csrf_token": csrf_from(hosted), "number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123"}
    back = (await served.http.post(hosted_url, data=card)).headers["location"]
    added = await served.http.get(back)

    assert added.status_code == 303 and "added=pm_" in added.headers["location"]
    setup_id = httpx.URL(hosted_url).path.rsplit("/", 1)[1]
    card_token = httpx.URL(back).params["processor_token"]
    assert setup_id.startswith("seti_") and card_token.startswith("tok_") and csrf in back
    assert_kept_out(served, csrf, setup_id, card_token)
    assert any("GET /sandbox/setup/[redacted] HTTP/1.1" in line for line in served.access_lines())
    [returned] = [line for line in served.access_lines() if "GET /payment-methods/added?business=" in line]
    assert "&state=[redacted]&processor_token=[redacted]" in returned


async def test_a_3d_secure_challenge_leaves_no_challenge_page_in_the_log(served: Served, context) -> None:
    shop = await subscriber(context, cards=("pm_card_authenticationRequired",))
    served.http.cookies.set("portal_session", await business_token(shop.customer))
    page = await served.http.get(f"/subscriptions/{shop.subscription.id}")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)[1]
    card = shop.cards["pm_card_authenticationRequired"]
    form = {"csrf_token": csrf_from(page), "idempotency_key": key, "payment_method_id": card.id}

    challenge_url = (await served.http.post(f"/subscriptions/{shop.subscription.id}/reactivate", data=form)).headers[
        "location"
    ]
    challenge = await served.http.get(challenge_url)
    answered = await served.http.post(challenge_url, data={"csrf_token": csrf_from(challenge), "decision": "approve"})

    assert answered.status_code == 303
    charge_id = httpx.URL(challenge_url).path.rsplit("/", 1)[1]
    assert charge_id.startswith("ch_")
    assert_kept_out(served, charge_id)
    assert any("POST /sandbox/authenticate/[redacted] HTTP/1.1" in line for line in served.access_lines())


@pytest.mark.parametrize(
    "template",
    [
        "/session/{}",
        "/session/{}?locale=sv",
        "/email-change/{}",
        "/sandbox/setup/{}",
        "/sandbox/setup/{}/",
        "/sandbox/authenticate/{}",
    ],
)
@pytest.mark.parametrize("prefix", [LINK_PREFIX, "seti_", ""])
async def test_a_secret_in_the_path_stays_out_of_the_log(served: Served, template: str, prefix: str) -> None:
    secret = prefix + secrets.token_urlsafe(24)
    path = template.format(secret)

    await served.http.get(path)
    await served.http.post(path, data={"csrf_token": "forged"})

    assert_kept_out(served, secret.removeprefix(prefix))
    assert any(template.format("[redacted]") in line for line in served.access_lines()), served.access_lines()


@pytest.mark.parametrize("name", ["state", "processor_token", "csrf_token", "token", "access_token", "code"])
@pytest.mark.parametrize("path", ["/login", "/graphql", "/payment-methods/added", "/nowhere"])
async def test_a_secret_in_the_query_stays_out_of_the_log(served: Served, name: str, path: str) -> None:
    secret = secrets.token_urlsafe(24)

    await served.http.get(path, params={"locale": "sv", name: secret, "query": "{ __typename }"})

    assert_kept_out(served, secret)
    assert any(f"{name}=[redacted]" in line and "locale=sv" in line for line in served.access_lines())


async def test_an_unexpected_error_on_a_secret_address_is_logged_without_the_secret(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: object) -> None:
        raise RuntimeError("the processor went away")

    monkeypatch.setattr(sandbox_pages.SandboxProcessor, "setup_session", fail)
    caplog.set_level(logging.INFO)

    response = await client.get("/sandbox/setup/seti_PRIVATEsetup?state=PRIVATEstate")

    assert response.status_code == 500
    text = "\n".join(logging.Formatter().format(record) for record in caplog.records if record.name != "httpx")
    assert "Unexpected error on GET /sandbox/setup/[redacted]" in text and "PRIVATE" not in text


def secret_routes() -> list[tuple[str, str]]:
    """`(method, template)` of every route with a path parameter not known to be harmless in a log."""
    app = create_app(Settings(secret_key="routes only"), manage_database=False)
    return sorted(
        (sorted(route.methods or {"GET"})[0], route.path)
        for route in app.routes
        if isinstance(route, Route) and set(route.param_convertors) - NOT_SECRET
    )


@pytest.mark.parametrize(("method", "template"), secret_routes())
async def test_every_route_with_a_secret_in_its_path_is_logged_without_it(
    served: Served, method: str, template: str
) -> None:
    """A new route whose parameter is no secret belongs in NOT_SECRET; one whose parameter is, in
    gateway.http.log_redaction.SECRET_PATH_PARAMETERS."""
    secret = secrets.token_urlsafe(24)
    names = Route(template, lambda request: None).param_convertors
    path = template.format(**{name: "x_1" if name in NOT_SECRET else secret for name in names})

    await served.http.request(method, path)

    assert_kept_out(served, secret)


def test_the_known_secret_routes_are_found() -> None:
    templates = {template for _, template in secret_routes()}
    assert {"/session/{token}", "/email-change/{token}", "/sandbox/setup/{setup_id}"} <= templates
    assert "/sandbox/authenticate/{charge_id}" in templates


def test_a_request_id_is_never_taken_for_a_card_number() -> None:
    """Request ids are hex: now and then one holds 13 to 19 digits in a row that pass the Luhn check."""
    request_id = "req_68b8cc9637422809310905bc"

    assert redact_secrets(f"Unexpected error (request {request_id})") == f"Unexpected error (request {request_id})"
    assert redact_secrets("number 4242 4242 4242 4242, or 4242424242424242.") == (
        "number [card number redacted], or [card number redacted]."
    )
