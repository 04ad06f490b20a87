"""Bad input over HTTP: every malformed id, body, method, media type or size gets the 4xx (and body) a client
should get, never a 500; the id rule holds on every endpoint; a refusal leaves the connection usable."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from access.viewer import Viewer
from gateway.app import create_app
from gateway.pages import session_link
from gateway.settings import Settings
from merchants.api_keys import create_api_key
from models import RateLimitBucket
from schema.common import limits
from tests.support import factories
from tests.support.portal import csrf_from, free_port

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MEBIBYTE = 1024 * 1024
TEN_MEGABYTES = b'{"query": "' + b"x" * (10 * MEBIBYTE) + b'"}'
TOO_LONG = "a" * 37  # after a four-character prefix: 41 characters, one more than any id column holds
BAD_BUSINESS_IDS = ["", f"bus_{TOO_LONG}", "bus_é", "bus_", "../../etc/passwd", "bus_demo northwind", "\x00", "<other>"]
BAD_NODE_IDS = ["", f"sub_{TOO_LONG}", "sub_../x", "pm_é", f"bus_{TOO_LONG}", f"cus_{TOO_LONG}", "inv_", "x" * 5000]

LISTS = """query($b: ID) { viewer {
  subscriptions(businessId: $b) { totalCount } purchases(businessId: $b) { totalCount }
  invoices(businessId: $b) { totalCount } licenseKeys(businessId: $b) { totalCount }
  paymentMethods(businessId: $b) { id } } }"""
EMPTY_LISTS = {
    "subscriptions": {"totalCount": 0},
    "purchases": {"totalCount": 0},
    "invoices": {"totalCount": 0},
    "licenseKeys": {"totalCount": 0},
    "paymentMethods": [],
}
CREATE_SESSION = """mutation($c: ID!, $config: ID, $url: String, $locale: String) {
  createPortalSession(input: {customerId: $c, configurationId: $config, returnUrl: $url, locale: $locale}) {
    link errors { code field message } } }"""


Check = Callable[[httpx.Response], bool]


def anything(response: httpx.Response) -> bool:
    return True


@dataclass(frozen=True)
class Case:
    """One request (`<customer>`, `<business>` and `<other>` stand for the world's ids) and what must come back."""

    method: str
    path: str
    status: int
    check: Check = anything
    credentials: str | None = None  # "customer" (Bearer session), "cookie" (session cookie) or "merchant" (API key)
    content: bytes | Callable[[], AsyncIterator[bytes]] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def graphql_error(code: str) -> Check:
    def check(response: httpx.Response) -> bool:
        body = response.json()
        return "data" not in body and body["errors"][0]["extensions"]["code"] == code

    return check


def refused_without_data(response: httpx.Response) -> bool:
    """The specification's answer to a document that fails to parse or validate: errors, and no `data` entry."""
    body = response.json()
    return "data" not in body and bool(body["errors"])


def api_error(code: str) -> Check:
    return lambda response: response.json()["code"] == code


def data(expected: dict) -> Check:
    return lambda response: response.json() == {"data": expected}


def user_error(code: str) -> Check:
    def check(response: httpx.Response) -> bool:
        payload = response.json()["data"]["createPortalSession"]
        return payload["link"] is None and [error["code"] for error in payload["errors"]] == [code]

    return check


def page(text: str) -> Check:
    return lambda response: text in response.text


def graphql_request(query: str, **variables: object) -> dict:
    return {"query": query, "variables": variables}


async def chunked_ten_megabytes() -> AsyncIterator[bytes]:
    """A body with no Content-Length, only its streamed bytes to count."""
    for _ in range(10):
        yield b"x" * MEBIBYTE


def row(name: str, method: str, path: str, status: int, check: Check = anything, **request: Any) -> Any:
    return pytest.param(Case(method, path, status, check, **request), id=name)


def malformed_requests(path: str, credentials: str) -> list:
    """What a GraphQL endpoint must refuse with a 4xx and a GraphQL error body, never a 500."""
    typename = b'{"query": "{ __typename }"}'
    bad_json = [
        ("null", b"null"),
        ("string", b'"x"'),
        ("number", b"1"),
        ("true", b"true"),
        ("empty-list", b"[]"),
        ("batch", b"[" + typename + b"]"),
        ("truncated", b'{"query":'),
        ("invalid-utf-8", b'{"query": "{ __typename \xff }"}'),
        ("byte-order-mark", b"\xef\xbb\xbf" + typename),
        ("deeply-nested", b"[" * 100_000),
        ("query-not-a-string", b'{"query": 5}'),
        ("variables-not-an-object", b'{"query": "{ __typename }", "variables": "x"}'),
    ]
    modern = {"Accept": "application/graphql-response+json"}
    return [
        *[
            row(
                f"{path}-{name}",
                "POST",
                path,
                400,
                graphql_error("BAD_REQUEST"),
                credentials=credentials,
                content=body,
                headers=JSON,
            )
            for name, body in bad_json
        ],
        row(
            f"{path}-no-content-type",
            "POST",
            path,
            400,
            graphql_error("BAD_REQUEST"),
            credentials=credentials,
            content=typename,
        ),
        row(
            f"{path}-text-plain",
            "POST",
            path,
            400,
            graphql_error("BAD_REQUEST"),
            credentials=credentials,
            content=typename,
            headers={"Content-Type": "text/plain"},
        ),
        row(
            f"{path}-mutation-over-get",
            "GET",
            f"{path}?query=mutation%20%7B%20x%20%7D",
            405,
            graphql_error("METHOD_NOT_ALLOWED"),
            credentials=credentials,
        ),
        row(f"{path}-get-without-query", "GET", path, 400, graphql_error("BAD_REQUEST"), credentials=credentials),
        row(
            f"{path}-ten-megabytes",
            "POST",
            path,
            413,
            graphql_error("PAYLOAD_TOO_LARGE"),
            credentials=credentials,
            content=TEN_MEGABYTES,
            headers=JSON,
        ),
        row(
            f"{path}-ten-megabytes-chunked",
            "POST",
            path,
            413,
            graphql_error("PAYLOAD_TOO_LARGE"),
            credentials=credentials,
            content=chunked_ten_megabytes,
            headers=JSON,
        ),
        row(
            f"{path}-syntax-error-answers-without-data",
            "POST",
            path,
            400,
            refused_without_data,
            credentials=credentials,
            json={"query": "{"},
            headers=modern,
        ),
        row(
            f"{path}-invalid-field-answers-without-data",
            "POST",
            path,
            400,
            refused_without_data,
            credentials=credentials,
            json={"query": "{ nope }"},
            headers=modern,
        ),
    ]


CUSTOMER_CASES = [
    # A business id or node id that cannot exist is one that does not exist.
    *[
        row(
            f"lists-businessId-{bad[:12]!r}",
            "POST",
            "/graphql",
            200,
            data({"viewer": EMPTY_LISTS}),
            credentials="customer",
            json=graphql_request(LISTS, b=bad),
        )
        for bad in BAD_BUSINESS_IDS
    ],
    *[
        row(
            f"node-{bad[:12]!r}",
            "POST",
            "/graphql",
            200,
            data({"node": None}),
            credentials="customer",
            json=graphql_request("query($id: ID!) { node(id: $id) { id } }", id=bad),
        )
        for bad in BAD_NODE_IDS
    ],
    *malformed_requests("/graphql", "customer"),
    row("graphql-put", "PUT", "/graphql", 405, credentials="customer", json={}),
]

MERCHANT_CASES = [
    *[
        row(
            f"createPortalSession-customerId-{bad[:12]!r}",
            "POST",
            "/merchant/graphql",
            200,
            user_error("CUSTOMER_NOT_FOUND"),
            credentials="merchant",
            json=graphql_request(CREATE_SESSION, c=bad),
        )
        for bad in ["", f"cus_{TOO_LONG}", "cus_é", "<other-customer>", "x" * 5000]
    ],
    *[
        row(
            name,
            "POST",
            "/merchant/graphql",
            200,
            user_error(code),
            credentials="merchant",
            json=graphql_request(CREATE_SESSION, c="<customer>", **variables),
        )
        for name, code, variables in [
            ("configurationId-too-long", "CONFIGURATION_NOT_FOUND", {"config": f"bpc_{TOO_LONG}"}),
            ("configurationId-empty", "CONFIGURATION_NOT_FOUND", {"config": ""}),
            ("returnUrl-too-long", "INVALID_RETURN_URL", {"url": "https://acme.example/" + "a" * 1000}),
            ("locale-too-long", "INVALID_LOCALE", {"locale": "en-" + "a" * 40}),
        ]
    ],
    *malformed_requests("/merchant/graphql", "merchant"),
    row(
        "merchant-graphql-put",
        "PUT",
        "/merchant/graphql",
        405,
        graphql_error("METHOD_NOT_ALLOWED"),
        credentials="merchant",
        json={},
    ),
    # The REST endpoint.
    *[
        row(
            f"rest-customer-{bad[:12]!r}",
            "POST",
            f"/customers/{bad}/customer-portal/session",
            404,
            api_error("CUSTOMER_NOT_FOUND"),
            credentials="merchant",
        )
        for bad in [f"cus_{TOO_LONG}", "cus_%C3%A9", "cus_", "%00", "<other-customer>", "x" * 2000]
    ],
    row(
        "rest-customer-dot-dot", "POST", "/customers/..%2F..%2Fetc/customer-portal/session", 404, credentials="merchant"
    ),
    row(
        "rest-return-url-too-long",
        "POST",
        "/customers/<customer>/customer-portal/session?return_url=https://a.example/" + "a" * 1000,
        422,
        api_error("INVALID_RETURN_URL"),
        credentials="merchant",
    ),
    row(
        "rest-ten-megabytes",
        "POST",
        "/customers/<customer>/customer-portal/session",
        413,
        api_error("PAYLOAD_TOO_LARGE"),
        credentials="merchant",
        content=TEN_MEGABYTES,
        headers=JSON,
    ),
]

PAGE_CASES = [
    *[
        row(f"{method}-{prefix}-{bad[:12]}", method, f"{prefix}/{bad}", 404, page("Page not found"))
        for method in ("GET", "POST")
        for prefix in ("/login", "/test/login")
        for bad in [f"bus_{TOO_LONG}", "bus_%C3%A9", "bus_", "%00", "x" * 2000]
    ],
    row(
        "form-too-large",
        "POST",
        "/login",
        413,
        page("shorten what you typed"),
        content=b"email=" + b"a" * 20_000,
        headers=FORM,
    ),
    row(
        "form-too-large-in-swedish",
        "POST",
        "/login",
        413,
        page("korta ner"),
        content=b"email=" + b"a" * 20_000,
        headers={**FORM, "Accept-Language": "sv"},
    ),
    *[
        row(f"session-{bad[:12]}", "GET", f"/session/{bad}", 404, page("This link does not work"))
        for bad in ["garbage", "cpl_" + "a" * 5000, "%FF", "cpl_%00"]
    ],
    *[
        row(f"home-{bad[:12]}", "GET", f"/?business={bad}", 404, page("Page not found"), credentials="cookie")
        for bad in [f"bus_{TOO_LONG}", "bus_%C3%A9", "", "<other>"]
    ],
    *[
        row(f"{template}-{bad[:12]}", "GET", template.format(bad), 404, credentials="cookie")
        for template in [
            "/subscriptions/{}",
            "/subscriptions/{}/payment-method",
            "/subscriptions/{}/reactivated",
            "/payments/{}/complete",
            "/sandbox/setup/{}",
            "/sandbox/authenticate/{}",
        ]
        for bad in [f"sub_{TOO_LONG}", "sub_%C3%A9", "sub_", "%00", "x" * 2000]
    ],
]


@pytest.fixture
async def world() -> dict[str, str]:
    """Ada, a customer of Northwind with a full history; Globex, another business with its own customer; Ada's
    business and unified sessions and a Northwind API key."""
    northwind, globex = await factories.business("Northwind"), await factories.business("Globex")
    ada = await factories.customer_with_history(northwind, "ada@example.com")
    other = await factories.customer_with_history(globex, "bob@example.com")
    secret, _ = await create_api_key(northwind, livemode=True)
    return {
        "<customer>": ada.customer.id,
        "<business>": northwind.id,
        "<other>": globex.id,
        "<other-customer>": other.customer.id,
        "token": await factories.business_token(ada.customer),
        "unified": await factories.unified_token("ada@example.com"),
        "key": secret,
    }


def filled(value: Any, world: dict[str, str]) -> Any:
    """`value` with the placeholders of the world's ids replaced."""
    if isinstance(value, str):
        for placeholder, real in world.items():
            value = value.replace(placeholder, real)
        return value
    if isinstance(value, dict):
        return {key: filled(item, world) for key, item in value.items()}
    return value


async def send(client: httpx.AsyncClient, case: Case, world: dict[str, str]) -> httpx.Response:
    headers = dict(case.headers)
    if case.credentials in ("customer", "merchant"):
        headers["Authorization"] = f"Bearer {world['token' if case.credentials == 'customer' else 'key']}"
    if case.credentials == "cookie":
        client.cookies.set("portal_session", world["unified"])
    content = case.content() if callable(case.content) else case.content
    json_body = filled(case.json, world) if case.json is not None else None
    return await client.request(case.method, filled(case.path, world), headers=headers, content=content, json=json_body)


@pytest.mark.parametrize("case", [*CUSTOMER_CASES, *MERCHANT_CASES, *PAGE_CASES])
async def test_bad_input_gets_the_answer_a_client_should_get(client: httpx.AsyncClient, world, case: Case) -> None:
    response = await send(client, case, world)

    assert response.status_code == case.status, response.text[:500]
    assert case.check(response), response.text[:500]
    assert response.headers["x-request-id"].startswith("req_")
    assert "Unexpected error" not in response.text


async def test_a_business_filter_in_scope_still_finds_its_rows(client: httpx.AsyncClient, world) -> None:
    case = Case("POST", "/graphql", 200, credentials="customer", json=graphql_request(LISTS, b="<business>"))

    viewer = (await send(client, case, world)).json()["data"]["viewer"]

    assert viewer["subscriptions"]["totalCount"] == 2 and len(viewer["paymentMethods"]) == 1


async def test_a_too_long_email_is_refused_with_a_localised_message(client: httpx.AsyncClient, world) -> None:
    path = f"/login/{world['<business>']}"
    form = await client.get(path, params={"locale": "sv"})

    refused = await client.post(path, data={"email": "a" * 250 + "@example.com", "csrf_token": csrf_from(form)})

    assert refused.status_code == 422
    assert "Använd högst 254 tecken." in refused.text


async def test_after_a_400_the_same_connection_still_answers(settings: Settings) -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, manage_database=False), port=port, lifespan="off", log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for body in (b"null", b'{"query": "{ __typename }"}'):
            writer.write(
                b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            length = int(next(line for line in head.split("\r\n") if line.lower().startswith("content-length"))[15:])
            answer = json.loads(await reader.readexactly(length))
            answers.append((int(head.split()[1]), "connection: close" in head.lower(), answer))
        writer.close()
    finally:
        server.should_exit = True
        await serving

    assert answers[0][:2] == (400, False)
    assert answers[1] == (200, False, {"data": {"__typename": "Query"}})


async def test_forwarded_headers_count_only_from_trusted_proxies(settings: Settings) -> None:
    """The sign-in rate limit counts the client's address: a spoofed X-Forwarded-For changes nothing unless the
    peer is a trusted proxy, whose forwarded address is then the client's."""
    business = await factories.business("Northwind")
    buckets = {}
    for trusted in ((), ("127.0.0.1",)):
        app = create_app(Settings(**{**settings.__dict__, "trusted_proxies": trusted}), manage_database=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as http:
            form = await http.get(f"/login/{business.id}")
            for n in range(3):
                await http.post(
                    f"/login/{business.id}",
                    data={"email": f"someone{n}@example.com", "csrf_token": csrf_from(form)},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
        rows = RateLimitBucket.filter(key__startswith="sign_in_address:")
        buckets[trusted] = sorted(await rows.values_list("hits", flat=True))
        await RateLimitBucket.all().delete()

    assert buckets == {(): [3], ("127.0.0.1",): [1, 1, 1]}


# --- What the logs say ------------------------------------------------------------------------------------------

REFUSED = [
    ("no-session", None, "query SecretOperationName { viewer { email } }"),
    ("invalid-field", "token", "query SecretOperationName { nope }"),
    ("syntax-error", "token", "query SecretOperationName {"),
    ("key-in-bad-input", "token", 'query SecretOperationName { node(id: {a: "sk_live_notarealkey"}) { id } }'),
    ("card-in-bad-input", "token", 'query SecretOperationName { node(id: {a: "4242 4242 4242 4242"}) { id } }'),
    (
        "too-many-aliases",
        "token",
        "query SecretOperationName { " + " ".join(f"a{n}: __typename" for n in range(30)) + " }",
    ),
]


def server_log(caplog: pytest.LogCaptureFixture) -> tuple[list[logging.LogRecord], str]:
    """What the portal logged about the request, records and text, beside the access line every request gets
    (tests/test_logging_json.py checks that one) and the test's own HTTP client's lines."""
    records = [
        record
        for record in caplog.records
        if not record.name.startswith("httpx") and record.name != "gateway.http.access_log"
    ]
    text = "\n".join(logging.Formatter().format(r) for r in caplog.records if not r.name.startswith("httpx"))
    return records, text


@pytest.mark.parametrize(("token", "query"), [pytest.param(t, q, id=name) for name, t, q in REFUSED])
async def test_a_refused_graphql_request_logs_one_quiet_line(client, world, caplog, token, query) -> None:
    caplog.set_level(logging.INFO)
    headers = {"Authorization": f"Bearer {world[token]}"} if token else {}

    response = await client.post("/graphql", json={"query": query}, headers=headers)

    assert response.json()["errors"]
    [record], text = server_log(caplog)
    assert record.levelno < logging.ERROR and record.exc_info is None
    assert "SecretOperationName" not in text and "notarealkey" not in text and "4242 4242" not in text


@pytest.mark.parametrize("broken", ["resolver", "validation rule"])
async def test_an_unexpected_graphql_error_logs_one_error_with_the_request_id_the_client_gets(
    client, world, caplog, monkeypatch, broken
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError(f"broken while holding {world['token']}")

    if broken == "resolver":
        monkeypatch.setattr(Viewer, "businesses", property(fail))
    else:
        monkeypatch.setattr(limits.CostRule, "enter_operation_definition", fail)
    caplog.set_level(logging.INFO)

    response = await client.post(
        "/graphql",
        # A document of its own: a validated one is remembered (strawberry's ValidationCache) and not checked again.
        json={"query": f"{{ viewer {{ {broken.replace(' ', '_')}: businesses {{ id }} }} }}"},
        headers={"Authorization": f"Bearer {world['token']}"},
    )

    request_id = response.headers["x-request-id"]
    error = response.json()["errors"][0]
    assert (error["message"], error["extensions"]) == (
        "Unexpected error.",
        {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )
    [record], text = server_log(caplog)
    assert record.levelno == logging.ERROR and record.exc_info and request_id in record.getMessage()
    assert "RuntimeError: broken while holding cps_[redacted]" in text and world["token"] not in text


async def test_an_unexpected_error_outside_graphql_answers_500_with_the_request_id(client, caplog, monkeypatch) -> None:
    async def fail(token: str) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(session_link, "peek_link", fail)
    caplog.set_level(logging.INFO)

    response = await client.get("/session/cpl_secretlinktoken")

    request_id = response.headers["x-request-id"]
    assert response.status_code == 500 and request_id in response.text
    assert response.headers["x-frame-options"] == "DENY"
    [record], text = server_log(caplog)
    assert record.levelno == logging.ERROR and record.exc_info and request_id in record.getMessage()
    assert "/session/[redacted]" in text and "secretlinktoken" not in text


def test_trusted_proxies_are_addresses_or_networks_and_a_typo_stops_the_start(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # where a generated secret key would land
    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.7 ,")
    assert Settings.from_env().trusted_proxies == ("10.0.0.0/8", "192.0.2.7")

    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ValueError, match="proxy.internal"):
        Settings.from_env()


async def test_the_body_limits_are_settings(settings: Settings) -> None:
    small = Settings(**{**settings.__dict__, "max_body_bytes": 200, "max_form_bytes": 50})
    transport = httpx.ASGITransport(app=create_app(small, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        fits = await http.post("/graphql", json={"query": "{ __typename }"})
        too_large = await http.post("/graphql", json={"query": "{ __typename }", "operationName": "x" * 200})
        form = await http.post("/login", data={"email": "a" * 60})

    assert fits.json() == {"data": {"__typename": "Query"}}
    assert (too_large.status_code, form.status_code) == (413, 413)
