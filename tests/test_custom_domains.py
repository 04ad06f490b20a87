"""Custom domains: which hostnames a business may hold, the branded portal a request to one of them shows, the links
and emails that lead there, host-only sessions, refused hosts, and the merchant API and CLI that manage them."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from access.email_outbox import opened_context
from access.login_links import peek_link, request_sign_in
from billing.notifications import Notifier
from gateway.app import create_app
from gateway.mailer import compose_email
from gateway.settings import Settings
from merchants.api_keys import create_api_key
from merchants.custom_domains import (
    HOST_CACHE_SECONDS,
    MAX_DOMAINS_PER_BUSINESS,
    CustomDomainError,
    CustomDomainErrorCode,
    add_custom_domain,
    business_for_host,
    forget_host,
    normalized_hostname,
    portal_url_for,
)
from models import Business, CustomDomain, Customer, EmailMessage, LoginToken
from tests.billing_support import billing_context
from tests.portal_support import Shop, create_shop, csrf_from
from tests.scratch import scratch_database_url
from tests.test_cli import portal

PLATFORM = "https://portal.example.net"
CUSTOM_HOST = "billing.example.com"
CUSTOM = f"https://{CUSTOM_HOST}"
OTHER_HOST = "pay.other.example"
SETTINGS = Settings(base_url=PLATFORM, portal_name="Portal", secret_key="test-secret-key", run_worker_in_web=False)

BUSINESS_DOMAINS = "{ business { customDomains { totalCount nodes { hostname } } } }"
ADD = """mutation Add($hostname: String!) {
  addCustomDomain(hostname: $hostname) { customDomain { id hostname } errors { code field message } }
}"""
REMOVE = """mutation Remove($hostname: String!) {
  removeCustomDomain(hostname: $hostname) { customDomain { hostname } errors { code field message } }
}"""


@pytest.fixture(autouse=True)
def fresh_host_cache() -> Iterator[None]:
    """Tables are emptied after every test; the host lookups cached for them must go too."""
    yield
    for hostname in (CUSTOM_HOST, OTHER_HOST, "unknown.example.org"):
        forget_host(hostname)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(SETTINGS, manage_database=False))
    async with httpx.AsyncClient(transport=transport, base_url=PLATFORM) as http:
        yield http


async def shop_with_domain(name: str = "Acme Tools", hostname: str = CUSTOM_HOST) -> Shop:
    shop = await create_shop(name)
    await add_custom_domain(shop.business, hostname, platform_url=PLATFORM, livemode=True)
    return shop


async def key_of(business: Business, livemode: bool = True) -> dict[str, str]:
    secret, _ = await create_api_key(business, livemode=livemode)
    return {"Authorization": f"Bearer {secret}"}


async def merchant(client: httpx.AsyncClient, key: dict, query: str, **variables: str) -> dict:
    response = await client.post("/merchant/graphql", json={"query": query, "variables": variables}, headers=key)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def hostnames_of(business: Business) -> list[str]:
    return sorted(await CustomDomain.filter(business=business).values_list("hostname", flat=True))


async def sign_in_on(client: httpx.AsyncClient, origin: str, login_path: str = "/login") -> httpx.Response:
    """Ask for a sign-in link on `origin`, then open the emailed link as the browser would; returns the confirmation."""
    page = await client.get(f"{origin}{login_path}")
    await client.post(f"{origin}{login_path}", data={"email": "ada@example.com", "csrf_token": csrf_from(page)})
    message = await EmailMessage.filter(template="sign_in").order_by("-created_at").first()
    link = opened_context(message, SETTINGS.secret_key)["link"]
    confirm = await client.get(link)
    return await client.post(link, data={"csrf_token": csrf_from(confirm)})


# --- which hostnames a business may hold ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Billing.Example.COM. ", "billing.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("ＢＩＬＬＩＮＧ.example.com", "billing.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_hostnames_are_stored_as_browsers_send_them(given: str, stored: str) -> None:
    assert normalized_hostname(given, PLATFORM) == stored


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("192.0.2.10", "IP address"),
        ("2001:db8::1", "without scheme, port or path"),
        ("10.0.0.300", "IP address"),
        ("billing.example.com:8443", "without scheme, port or path"),
        ("https://billing.example.com", "without scheme, port or path"),
        ("billing", "at least one dot"),
        ("localhost", "at least one dot"),
        ("shop.localhost", "belongs to the portal"),
        ("portal.example.net", "belongs to the portal"),
        ("evil.portal.example.net", "belongs to the portal"),
        ("example.net", "belongs to the portal"),
        ("bad_name.example.com", "not a valid DNS name"),
        ("-shop.example.com", "not a valid DNS name"),
        ("a" * 64 + ".example.com", "not a valid DNS name"),
        ("", "Give a hostname"),
    ],
)
async def test_a_hostname_that_cannot_be_a_custom_domain_is_refused_and_nothing_written(
    given: str, complaint: str
) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")

    with pytest.raises(CustomDomainError, match=complaint) as refusal:
        await add_custom_domain(business, given, platform_url=PLATFORM, livemode=True)

    assert refusal.value.code == CustomDomainErrorCode.INVALID_HOSTNAME
    assert await CustomDomain.all().count() == 0


async def test_a_hostname_belongs_to_one_business_and_the_refusal_does_not_say_whose() -> None:
    holder = await Business.create(name="Holder Inc", support_email="help@holder.example")
    other = await Business.create(name="Other", support_email="help@other.example")
    first = await add_custom_domain(holder, CUSTOM_HOST, platform_url=PLATFORM, livemode=True)

    with pytest.raises(CustomDomainError) as refusal:
        await add_custom_domain(other, "BILLING.example.com", platform_url=PLATFORM, livemode=True)
    again = await add_custom_domain(holder, CUSTOM_HOST, platform_url=PLATFORM, livemode=True)

    assert refusal.value.code == CustomDomainErrorCode.HOSTNAME_TAKEN
    assert "Holder" not in refusal.value.message and holder.id not in refusal.value.message
    assert again.id == first.id
    assert (await hostnames_of(holder), await hostnames_of(other)) == ([CUSTOM_HOST], [])


async def test_a_business_holds_at_most_five_domains() -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    for number in range(MAX_DOMAINS_PER_BUSINESS):
        await add_custom_domain(business, f"shop{number}.example.com", platform_url=PLATFORM, livemode=True)

    with pytest.raises(CustomDomainError) as refusal:
        await add_custom_domain(business, "one-more.example.com", platform_url=PLATFORM, livemode=True)

    assert refusal.value.code == CustomDomainErrorCode.TOO_MANY_DOMAINS
    assert len(await hostnames_of(business)) == MAX_DOMAINS_PER_BUSINESS


async def test_the_portal_url_is_the_first_custom_domain_else_the_platform() -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    assert await portal_url_for(business, PLATFORM) == PLATFORM

    await add_custom_domain(business, CUSTOM_HOST, platform_url=PLATFORM, livemode=True)
    await add_custom_domain(business, OTHER_HOST, platform_url=PLATFORM, livemode=True)

    assert await portal_url_for(business, PLATFORM) == CUSTOM


async def test_another_process_stops_serving_a_removed_domain_once_its_cache_lapses() -> None:
    shop = await shop_with_domain()
    now = 1000.0
    assert (await business_for_host(CUSTOM_HOST, clock=lambda: now)).id == shop.business.id

    await CustomDomain.filter(hostname=CUSTOM_HOST).delete()  # as another process would

    soon = now + HOST_CACHE_SECONDS - 1
    later = now + HOST_CACHE_SECONDS + 1
    assert (await business_for_host(CUSTOM_HOST, clock=lambda: soon)).id == shop.business.id
    assert await business_for_host(CUSTOM_HOST, clock=lambda: later) is None


# --- the branded portal on a custom domain ----------------------------------------------------------------------


async def test_the_custom_domain_shows_the_business_sign_in_page(client: httpx.AsyncClient) -> None:
    await shop_with_domain()

    live = await client.get(f"{CUSTOM}/login")
    test = await client.get(f"{CUSTOM}/test/login")

    assert live.status_code == 200 and test.status_code == 200
    assert "Acme Tools" in live.text and "Acme Tools for everyone" in live.text
    assert 'action="/login"' in live.text and 'action="/test/login"' in test.text


async def test_signing_in_on_the_custom_domain_stays_there_with_a_host_only_cookie(client: httpx.AsyncClient) -> None:
    await shop_with_domain()

    confirmed = await sign_in_on(client, CUSTOM)

    [message] = await EmailMessage.filter(template="sign_in")
    text = compose_email(message, SETTINGS).get_body(preferencelist=("plain",)).get_content()
    assert f"{CUSTOM}/session/cpl_" in text
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/"
    cookie = next(h for h in confirmed.headers.get_list("set-cookie") if h.startswith("portal_session="))
    assert "domain=" not in cookie.lower()
    home = await client.get(f"{CUSTOM}/")
    assert home.status_code == 200 and "Pro plan" in home.text
    # The browser keeps the cookie for the custom domain alone: on the platform nobody is signed in.
    assert (await client.get(f"{PLATFORM}/")).headers["location"] == "/login"


async def test_a_platform_session_does_not_open_the_custom_domain_portal(client: httpx.AsyncClient) -> None:
    await shop_with_domain()
    await sign_in_on(client, PLATFORM)  # the unified portal
    platform_cookie = client.cookies.get("portal_session", domain="portal.example.net")

    presented = await client.get(f"{CUSTOM}/", headers={"Cookie": f"portal_session={platform_cookie}"})

    assert (await client.get(f"{PLATFORM}/")).status_code == 200
    assert presented.status_code == 303 and presented.headers["location"] == "/login"


async def test_other_portals_are_not_served_on_the_custom_domain(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()
    other = await create_shop("Other Shop")
    await request_sign_in(
        email="ada@example.com", business=None, livemode=True, locale="en", client_ip="203.0.113.9",
        base_url=PLATFORM, link_seconds=900, portal_name="Portal", secret_key=SETTINGS.secret_key,
    )  # fmt: skip
    unified_link = opened_context(await EmailMessage.get(template="sign_in"), SETTINGS.secret_key)["link"]
    token = unified_link.rsplit("/", 1)[1]

    for path in (f"/login/{shop.business.id}", f"/login/{other.business.id}", f"/test/login/{other.business.id}"):
        assert (await client.get(f"{CUSTOM}{path}")).status_code == 404, path
    shown = await client.get(f"{CUSTOM}/session/{token}")
    posted = await client.post(f"{CUSTOM}/session/{token}", data={"csrf_token": csrf_from(shown)})

    assert shown.status_code == 404 and posted.status_code == 404
    assert (await peek_link(token)).valid  # not burned: it still opens the unified portal on the platform
    assert (await client.get(f"{PLATFORM}/login/{shop.business.id}")).status_code == 200


async def test_an_unknown_host_is_refused(client: httpx.AsyncClient) -> None:
    await shop_with_domain()

    for url in ("https://unknown.example.org/login", "http://192.0.2.1/login", "https://[2001:db8::1]/"):
        answer = await client.get(url)
        assert (answer.status_code, answer.text) == (400, "Unknown host"), url
    assert (await client.get("http://localhost/login")).status_code == 200
    assert (await client.get(f"{PLATFORM}/login")).status_code == 200


async def test_removing_a_domain_stops_serving_it(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()
    assert (await client.get(f"{CUSTOM}/login")).status_code == 200

    removed = await merchant(client, await key_of(shop.business), REMOVE, hostname=CUSTOM_HOST)

    assert removed["removeCustomDomain"] == {"customDomain": {"hostname": CUSTOM_HOST}, "errors": []}
    assert (await client.get(f"{CUSTOM}/login")).status_code == 400


# --- links and emails -------------------------------------------------------------------------------------------


async def test_a_merchant_magic_link_opens_on_the_custom_domain(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()

    response = await client.post(
        f"/customers/{shop.customer.id}/customer-portal/session", headers=await key_of(shop.business)
    )
    link = response.json()["link"]
    confirm = await client.get(link)
    confirmed = await client.post(link, data={"csrf_token": csrf_from(confirm)})

    assert link.startswith(f"{CUSTOM}/session/cpl_")
    assert confirmed.status_code == 303
    assert "Pro plan" in (await client.get(f"{CUSTOM}/")).text


async def test_billing_emails_link_to_the_custom_domain_sign_in_page() -> None:
    shop = await shop_with_domain()
    plain = await create_shop("Plain Shop")
    test_customer = await Customer.create(business=shop.business, livemode=False, email="ada@example.com")

    for business, customer in (
        (shop.business, shop.customer),
        (shop.business, test_customer),
        (plain.business, plain.customer),
    ):
        notifier = Notifier(billing_context(PLATFORM), business, customer, "en")
        await notifier.subscription_reactivated(shop.subscription, "Pro plan")

    links = [message.context["link"] for message in await EmailMessage.all().order_by("created_at", "id")]
    assert links == [f"{CUSTOM}/login", f"{CUSTOM}/test/login", f"{PLATFORM}/login/{plain.business.id}"]


async def test_unified_sign_in_links_stay_on_the_platform() -> None:
    await shop_with_domain()

    await request_sign_in(
        email="ada@example.com", business=None, livemode=True, locale="en", client_ip="203.0.113.9",
        base_url=PLATFORM, link_seconds=900, portal_name="Portal", secret_key=SETTINGS.secret_key,
    )  # fmt: skip

    sign_in = await EmailMessage.get(template="sign_in")
    assert opened_context(sign_in, SETTINGS.secret_key)["link"].startswith(f"{PLATFORM}/session/cpl_")


# --- the merchant API -------------------------------------------------------------------------------------------


async def test_a_live_key_adds_lists_and_removes_its_domains(client: httpx.AsyncClient) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    key = await key_of(business)

    added = await merchant(client, key, ADD, hostname="Billing.Example.com")
    refused = await merchant(client, key, ADD, hostname="billing.example.com:443")
    listed = await merchant(client, key, BUSINESS_DOMAINS)

    assert added["addCustomDomain"]["customDomain"]["hostname"] == CUSTOM_HOST
    assert added["addCustomDomain"]["errors"] == []
    assert refused["addCustomDomain"]["customDomain"] is None
    assert [(e["code"], e["field"]) for e in refused["addCustomDomain"]["errors"]] == [("INVALID_HOSTNAME", "hostname")]
    assert listed["business"]["customDomains"] == {"totalCount": 1, "nodes": [{"hostname": CUSTOM_HOST}]}


async def test_a_key_never_touches_another_business_domains(client: httpx.AsyncClient) -> None:
    owner = await shop_with_domain("Holder Inc")
    intruder = await Business.create(name="Intruder", support_email="help@intruder.example")
    key = await key_of(intruder)

    removals = [
        (await merchant(client, key, REMOVE, hostname=hostname))["removeCustomDomain"]
        for hostname in (CUSTOM_HOST, "nothing-here.example.com", "not a hostname")
    ]
    taken = (await merchant(client, key, ADD, hostname=CUSTOM_HOST))["addCustomDomain"]
    listed = await merchant(client, key, BUSINESS_DOMAINS)

    assert removals[0] == removals[1] == removals[2]
    assert [error["code"] for error in removals[0]["errors"]] == ["DOMAIN_NOT_FOUND"]
    assert [error["code"] for error in taken["errors"]] == ["HOSTNAME_TAKEN"]
    assert "Holder" not in taken["errors"][0]["message"] and owner.business.id not in str(taken)
    assert listed["business"]["customDomains"]["totalCount"] == 0
    assert await hostnames_of(owner.business) == [CUSTOM_HOST]
    assert await hostnames_of(intruder) == []


async def test_a_test_key_lists_but_does_not_change_domains(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()
    key = await key_of(shop.business, livemode=False)

    added = (await merchant(client, key, ADD, hostname=OTHER_HOST))["addCustomDomain"]
    removed = (await merchant(client, key, REMOVE, hostname=CUSTOM_HOST))["removeCustomDomain"]
    listed = await merchant(client, key, BUSINESS_DOMAINS)

    for payload in (added, removed):
        assert payload["customDomain"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("LIVE_MODE_REQUIRED", None)]
    assert listed["business"]["customDomains"]["nodes"] == [{"hostname": CUSTOM_HOST}]
    assert await hostnames_of(shop.business) == [CUSTOM_HOST]


async def test_the_merchant_api_answers_only_on_the_platform(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()
    key = await key_of(shop.business)

    answer = await client.post(
        f"{CUSTOM}/merchant/graphql", json={"query": ADD, "variables": {"hostname": OTHER_HOST}}, headers=key
    )
    session = await client.post(f"{CUSTOM}/customers/{shop.customer.id}/customer-portal/session", headers=key)

    assert answer.status_code == 404 and session.status_code == 404
    assert await hostnames_of(shop.business) == [CUSTOM_HOST]
    assert await LoginToken.all().count() == 0


# --- the operator's CLI -----------------------------------------------------------------------------------------


async def test_the_cli_adds_and_removes_domains_all_or_nothing(tmp_path: Path) -> None:
    async with scratch_database_url(tmp_path) as url:
        assert portal("migrate", database_url=url, cwd=tmp_path).returncode == 0
        created = portal(
            "business", "create", "--name", "Kumo", "--support-email", "a@kumo.example", database_url=url, cwd=tmp_path
        )
        business_id = created.stdout.split()[2]

        added = portal(
            "business", "update", business_id, "--add-domain", "Billing.Example.com", database_url=url, cwd=tmp_path
        )
        refused = portal(
            "business", "update", business_id, "--name", "Kumo Labs", "--remove-domain", CUSTOM_HOST,
            "--add-domain", "192.0.2.1", database_url=url, cwd=tmp_path,
        )  # fmt: skip
        listing = portal("business", "list", database_url=url, cwd=tmp_path)
        removed = portal(
            "business", "update", business_id, "--remove-domain", CUSTOM_HOST, database_url=url, cwd=tmp_path
        )

    assert added.returncode == 0, added.stderr
    assert f"Custom domains: {CUSTOM_HOST}. Its customers sign in at {CUSTOM}/login." in added.stdout
    assert refused.returncode == 1 and "IP address" in refused.stderr and "Traceback" not in refused.stderr
    assert "Kumo Labs" not in listing.stdout
    assert removed.returncode == 0, removed.stderr
    assert (
        f"Custom domains: none. Its customers sign in at http://127.0.0.1:8000/login/{business_id}." in removed.stdout
    )
