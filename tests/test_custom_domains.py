"""Custom domains: which hostnames a business may claim, the proof of control (a DNS TXT record, checked on request
and by the worker, a claim expiring unproven), the branded portal a request to a verified one shows, the links and
emails that lead there, host-only sessions, refused hosts, and the merchant API and CLI that manage them.

No test reaches a real DNS server: TXT records come from `PublishedRecords`, and dnspython's resolver is replaced by
one that fails the test if anything asks it.
"""

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import dns.asyncresolver
import dns.exception
import httpx
import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as apply_migrations

from access.login_links import peek_link, request_sign_in
from billing.notifications import Notifier
from core.email_outbox import opened_context
from gateway.app import create_app
from gateway.cli.database import migrate_database
from gateway.settings import Settings
from gateway.worker import run_worker
from gateway.worker.mailer import compose_email
from merchants.custom_domains import (
    HOST_CACHE_SECONDS,
    MAX_DOMAINS_PER_BUSINESS,
    PENDING_CLAIM_LIFETIME,
    CustomDomainError,
    CustomDomainErrorCode,
    add_custom_domain,
    business_for_host,
    forget_host,
    normalized_hostname,
    portal_url_for,
    txt_record_of,
)
from merchants.domain_verification import check_due_claims, dns_txt_lookup, verify_custom_domain
from models import Business, CustomDomain, Customer, EmailMessage, LoginToken
from models.database import tortoise_config
from models.enums import CustomDomainStatus
from tests.support.billing import billing_context
from tests.support.cli import portal
from tests.support.databases import create_before, scratch_database_url
from tests.support.merchant import bearer
from tests.support.portal import Shop, create_shop, csrf_from

PLATFORM = "https://portal.example.net"
CUSTOM_HOST = "billing.example.com"
CUSTOM = f"https://{CUSTOM_HOST}"
OTHER_HOST = "pay.other.example"
SETTINGS = Settings(base_url=PLATFORM, portal_name="Portal", secret_key="test-secret-key", run_worker_in_web=False)

BUSINESS_DOMAINS = "{ business { customDomains { totalCount nodes { hostname status } } } }"
ADD = """mutation Add($hostname: String!) {
  addCustomDomain(input: {hostname: $hostname}) {
    customDomain { id hostname status txtRecord { name value } expiresAt verifiedAt lastCheckedAt }
    errors { code field message }
  }
}"""
VERIFY = """mutation Verify($hostname: String!) {
  verifyCustomDomain(input: {hostname: $hostname}) {
    customDomain { hostname status verifiedAt expiresAt } errors { code field message }
  }
}"""
REMOVE = """mutation Remove($hostname: String!) {
  removeCustomDomain(input: {hostname: $hostname}) { customDomain { hostname } errors { code field message } }
}"""


class PublishedRecords:
    """A stand-in for DNS: the TXT records published so far, by name, and the names looked up."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def publish(self, domain: CustomDomain) -> None:
        record = txt_record_of(domain)
        self.records.setdefault(record.name, []).append(record.value)

    async def __call__(self, name: str) -> list[str]:
        self.lookups.append(name)
        return list(self.records.get(name, []))


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test asked a real DNS server")

    monkeypatch.setattr(dns.asyncresolver, "resolve", refuse)


@pytest.fixture(autouse=True)
def fresh_host_cache() -> Iterator[None]:
    """Tables are emptied after every test; the host lookups cached for them must go too."""
    yield
    for hostname in (CUSTOM_HOST, OTHER_HOST, "unknown.example.org"):
        forget_host(hostname)


@pytest.fixture
def txt() -> PublishedRecords:
    return PublishedRecords()


@pytest.fixture
async def client(txt: PublishedRecords) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(SETTINGS, manage_database=False, txt_lookup=txt))
    async with httpx.AsyncClient(transport=transport, base_url=PLATFORM) as http:
        yield http


async def claim(business: Business, hostname: str = CUSTOM_HOST, now: datetime | None = None) -> CustomDomain:
    return await add_custom_domain(business, hostname, platform_url=PLATFORM, livemode=True, now=now)


async def verified_domain(business: Business, hostname: str = CUSTOM_HOST) -> CustomDomain:
    """A claim whose TXT record was published and found, as its business would make one."""
    records = PublishedRecords()
    records.publish(await claim(business, hostname))
    return await verify_custom_domain(business, hostname, platform_url=PLATFORM, livemode=True, lookup=records)


async def shop_with_domain(name: str = "Acme Tools", hostname: str = CUSTOM_HOST) -> Shop:
    shop = await create_shop(name)
    await verified_domain(shop.business, hostname)
    return shop


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
    first = await verified_domain(holder)

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


async def test_the_portal_url_is_the_first_verified_domain_else_the_platform() -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    await claim(business, CUSTOM_HOST)
    assert await portal_url_for(business, PLATFORM) == PLATFORM

    await verified_domain(business, OTHER_HOST)
    assert await portal_url_for(business, PLATFORM) == f"https://{OTHER_HOST}"

    await verified_domain(business, CUSTOM_HOST)  # claimed earlier, verified later
    assert await portal_url_for(business, PLATFORM) == f"https://{OTHER_HOST}"


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
        email="ada@example.com",
        business=None,
        livemode=True,
        locale="en",
        client_ip="203.0.113.9",
        base_url=PLATFORM,
        link_seconds=900,
        portal_name="Portal",
        secret_key=SETTINGS.secret_key,
    )
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

    removed = await merchant(client, await bearer(shop.business), REMOVE, hostname=CUSTOM_HOST)

    assert removed["removeCustomDomain"] == {"customDomain": {"hostname": CUSTOM_HOST}, "errors": []}
    assert (await client.get(f"{CUSTOM}/login")).status_code == 400


# --- links and emails -------------------------------------------------------------------------------------------


async def test_a_merchant_magic_link_opens_on_the_custom_domain(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()

    response = await client.post(
        f"/customers/{shop.customer.id}/customer-portal/session", headers=await bearer(shop.business)
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
        await notifier.subscription_on_hold(shop.subscription, "Pro plan", 980)

    links = [message.context["link"] for message in await EmailMessage.all().order_by("created_at", "id")]
    assert links == [f"{CUSTOM}/login", f"{CUSTOM}/test/login", f"{PLATFORM}/login/{plain.business.id}"]


async def test_unified_sign_in_links_stay_on_the_platform() -> None:
    await shop_with_domain()

    await request_sign_in(
        email="ada@example.com",
        business=None,
        livemode=True,
        locale="en",
        client_ip="203.0.113.9",
        base_url=PLATFORM,
        link_seconds=900,
        portal_name="Portal",
        secret_key=SETTINGS.secret_key,
    )

    sign_in = await EmailMessage.get(template="sign_in")
    assert opened_context(sign_in, SETTINGS.secret_key)["link"].startswith(f"{PLATFORM}/session/cpl_")


# --- the merchant API -------------------------------------------------------------------------------------------


async def test_a_live_key_adds_lists_and_removes_its_domains(client: httpx.AsyncClient) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    key = await bearer(business)

    added = await merchant(client, key, ADD, hostname="Billing.Example.com")
    refused = await merchant(client, key, ADD, hostname="billing.example.com:443")
    listed = await merchant(client, key, BUSINESS_DOMAINS)
    removed = await merchant(client, key, REMOVE, hostname=CUSTOM_HOST)

    assert added["addCustomDomain"]["customDomain"]["hostname"] == CUSTOM_HOST
    assert added["addCustomDomain"]["errors"] == []
    assert refused["addCustomDomain"]["customDomain"] is None
    assert [(e["code"], e["field"]) for e in refused["addCustomDomain"]["errors"]] == [("INVALID_HOSTNAME", "hostname")]
    assert listed["business"]["customDomains"] == {
        "totalCount": 1,
        "nodes": [{"hostname": CUSTOM_HOST, "status": "PENDING"}],
    }
    assert removed["removeCustomDomain"]["errors"] == []
    assert await hostnames_of(business) == []


async def test_a_key_never_touches_another_business_domains(client: httpx.AsyncClient) -> None:
    owner = await shop_with_domain("Holder Inc")
    intruder = await Business.create(name="Intruder", support_email="help@intruder.example")
    key = await bearer(intruder)

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
    key = await bearer(shop.business, livemode=False)

    await claim(shop.business, OTHER_HOST)

    added = (await merchant(client, key, ADD, hostname="third.example.com"))["addCustomDomain"]
    verified = (await merchant(client, key, VERIFY, hostname=OTHER_HOST))["verifyCustomDomain"]
    removed = (await merchant(client, key, REMOVE, hostname=CUSTOM_HOST))["removeCustomDomain"]
    listed = await merchant(client, key, BUSINESS_DOMAINS)

    for payload in (added, verified, removed):
        assert payload["customDomain"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("LIVE_MODE_REQUIRED", None)]
    assert listed["business"]["customDomains"]["nodes"] == [
        {"hostname": OTHER_HOST, "status": "PENDING"},
        {"hostname": CUSTOM_HOST, "status": "VERIFIED"},
    ]
    assert await hostnames_of(shop.business) == [CUSTOM_HOST, OTHER_HOST]


async def test_the_merchant_api_answers_only_on_the_platform(client: httpx.AsyncClient) -> None:
    shop = await shop_with_domain()
    key = await bearer(shop.business)

    answer = await client.post(
        f"{CUSTOM}/merchant/graphql", json={"query": ADD, "variables": {"hostname": OTHER_HOST}}, headers=key
    )
    session = await client.post(f"{CUSTOM}/customers/{shop.customer.id}/customer-portal/session", headers=key)

    assert answer.status_code == 404 and session.status_code == 404
    assert await hostnames_of(shop.business) == [CUSTOM_HOST]
    assert await LoginToken.all().count() == 0


# --- the operator's CLI -----------------------------------------------------------------------------------------


async def test_the_cli_adds_and_removes_domains_all_or_nothing(migrated_database: str, tmp_path: Path) -> None:
    url = migrated_database
    created = portal(
        "business", "create", "--name", "Kumo", "--support-email", "a@kumo.example", database_url=url, cwd=tmp_path
    )
    business_id = created.stdout.split()[2]

    added = portal(
        "business", "update", business_id, "--add-domain", "Billing.Example.com", database_url=url, cwd=tmp_path
    )
    refused = portal(
        "business",
        "update",
        business_id,
        "--name=Kumo Labs",
        f"--remove-domain={CUSTOM_HOST}",
        "--add-domain=192.0.2.1",
        database_url=url,
        cwd=tmp_path,
    )
    listing = portal("business", "list", database_url=url, cwd=tmp_path)
    not_yours = portal("business", "verify-domain", business_id, OTHER_HOST, database_url=url, cwd=tmp_path)
    removed = portal("business", "update", business_id, "--remove-domain", CUSTOM_HOST, database_url=url, cwd=tmp_path)

    assert added.returncode == 0, added.stderr
    platform_sign_in = f"http://127.0.0.1:8000/login/{business_id}"
    assert f"Custom domains: {CUSTOM_HOST} (pending). Its customers sign in at {platform_sign_in}." in added.stdout
    assert f"publish a DNS TXT record _portal-challenge.{CUSTOM_HOST} with the value portal-verification=" in (
        added.stdout
    )
    assert f"`portal business verify-domain {business_id} {CUSTOM_HOST}`" in added.stdout
    assert not_yours.returncode == 1 and "No such custom domain. (DOMAIN_NOT_FOUND)" in not_yours.stderr
    assert refused.returncode == 1 and "IP address" in refused.stderr and "Traceback" not in refused.stderr
    assert "Kumo Labs" not in listing.stdout
    assert removed.returncode == 0, removed.stderr
    assert (
        f"Custom domains: none. Its customers sign in at http://127.0.0.1:8000/login/{business_id}." in removed.stdout
    )


# --- proof of control: a claim serves nothing until its TXT record is found ---------------------------------------


async def test_a_claim_without_proof_serves_nothing_and_leads_no_link(client: httpx.AsyncClient) -> None:
    squatter = await create_shop("Squatter")
    await add_custom_domain(squatter.business, CUSTOM_HOST, platform_url=PLATFORM, livemode=True)

    page = await client.get(f"{CUSTOM}/login")
    response = await client.post(
        f"/customers/{squatter.customer.id}/customer-portal/session", headers=await bearer(squatter.business)
    )
    notifier = Notifier(billing_context(PLATFORM), squatter.business, squatter.customer, "en")
    await notifier.subscription_on_hold(squatter.subscription, "Pro plan", 980)

    assert (page.status_code, page.text) == (400, "Unknown host")
    assert response.json()["link"].startswith(f"{PLATFORM}/session/cpl_")
    assert (await EmailMessage.get(template="subscription_on_hold")).context["link"] == (
        f"{PLATFORM}/login/{squatter.business.id}"
    )


async def test_a_pending_claim_never_blocks_the_domain_owner(client: httpx.AsyncClient, txt: PublishedRecords) -> None:
    squatter = await create_shop("Squatter")
    owner = await create_shop("Owner Tools")
    await claim(squatter.business)  # first, but without control of the domain's DNS
    squatter_key, owner_key = await bearer(squatter.business), await bearer(owner.business)

    added = (await merchant(client, owner_key, ADD, hostname=CUSTOM_HOST))["addCustomDomain"]
    txt.publish(await CustomDomain.get(id=added["customDomain"]["id"]))
    squatter_check = (await merchant(client, squatter_key, VERIFY, hostname=CUSTOM_HOST))["verifyCustomDomain"]
    owner_check = (await merchant(client, owner_key, VERIFY, hostname=CUSTOM_HOST))["verifyCustomDomain"]

    assert added["errors"] == [] and added["customDomain"]["status"] == "PENDING"
    assert [error["code"] for error in squatter_check["errors"]] == ["TXT_RECORD_NOT_FOUND"]
    assert owner_check["errors"] == [] and owner_check["customDomain"]["status"] == "VERIFIED"
    assert owner_check["customDomain"]["expiresAt"] is None
    page = await client.get(f"{CUSTOM}/login")
    assert page.status_code == 200 and "Owner Tools" in page.text and "Squatter" not in page.text
    # The squatter's claim is gone, and claiming again is refused without naming the owner.
    assert await hostnames_of(squatter.business) == []
    again = (await merchant(client, squatter_key, ADD, hostname=CUSTOM_HOST))["addCustomDomain"]
    assert [error["code"] for error in again["errors"]] == ["HOSTNAME_TAKEN"]
    assert "Owner" not in str(again) and owner.business.id not in str(again)
    assert await portal_url_for(squatter.business, PLATFORM) == PLATFORM


async def test_the_merchant_api_answers_with_the_txt_record_to_create(client: httpx.AsyncClient) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    before = datetime.now(UTC)

    added = (await merchant(client, await bearer(business), ADD, hostname=CUSTOM_HOST))["addCustomDomain"]

    domain = await CustomDomain.get(business=business)
    node = added["customDomain"]
    assert node["status"] == "PENDING" and node["verifiedAt"] is None and node["lastCheckedAt"] is None
    assert node["txtRecord"] == {
        "name": f"_portal-challenge.{CUSTOM_HOST}",
        "value": f"portal-verification={domain.verification_token}",
    }
    assert len(domain.verification_token) >= 40
    expires_at = datetime.fromisoformat(node["expiresAt"])
    assert before + PENDING_CLAIM_LIFETIME <= expires_at <= datetime.now(UTC) + PENDING_CLAIM_LIFETIME


async def test_each_claim_has_its_own_token_and_another_claim_record_proves_nothing(txt: PublishedRecords) -> None:
    owner = await Business.create(name="Owner", support_email="help@owner.example")
    other = await Business.create(name="Other", support_email="help@other.example")
    owners_claim = await claim(owner)
    others_claim = await claim(other)
    txt.publish(owners_claim)

    with pytest.raises(CustomDomainError) as refusal:
        await verify_custom_domain(other, CUSTOM_HOST, platform_url=PLATFORM, livemode=True, lookup=txt)

    assert owners_claim.verification_token != others_claim.verification_token
    assert refusal.value.code == CustomDomainErrorCode.TXT_RECORD_NOT_FOUND
    assert f"_portal-challenge.{CUSTOM_HOST}" in refusal.value.message
    assert (await CustomDomain.get(id=others_claim.id)).status == CustomDomainStatus.PENDING
    assert await business_for_host(CUSTOM_HOST) is None


async def test_the_worker_checks_a_pending_claim_until_its_record_appears(txt: PublishedRecords) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    start = datetime.now(UTC)
    domain = await claim(business, now=start)

    assert await check_due_claims(txt, now=start) == 0 and txt.lookups == []  # nothing is due at once
    assert await check_due_claims(txt, now=start + timedelta(minutes=1)) == 0
    after_a_minute = await CustomDomain.get(id=domain.id)
    assert after_a_minute.last_checked_at == start + timedelta(minutes=1)
    assert after_a_minute.next_check_at == start + timedelta(minutes=2)

    two_hours = start + timedelta(hours=2)
    await CustomDomain.filter(id=domain.id).update(next_check_at=two_hours)
    assert await check_due_claims(txt, now=two_hours) == 0
    assert (await CustomDomain.get(id=domain.id)).next_check_at == two_hours + timedelta(hours=1)  # hourly now
    assert await check_due_claims(txt, now=two_hours + timedelta(minutes=30)) == 0  # not due: no lookup
    assert len(txt.lookups) == 2

    txt.publish(domain)
    assert await check_due_claims(txt, now=two_hours + timedelta(hours=1)) == 1

    verified = await CustomDomain.get(id=domain.id)
    assert verified.status == CustomDomainStatus.VERIFIED
    assert (verified.verified_at, verified.expires_at, verified.next_check_at) == (
        two_hours + timedelta(hours=1),
        None,
        None,
    )
    assert (await business_for_host(CUSTOM_HOST)).id == business.id
    assert await portal_url_for(business, PLATFORM) == CUSTOM
    assert await check_due_claims(txt, now=two_hours + timedelta(days=30)) == 0  # a verified domain is not dropped
    assert await hostnames_of(business) == [CUSTOM_HOST] and len(txt.lookups) == 3


async def test_of_two_published_claims_the_first_checked_wins_and_the_other_goes(txt: PublishedRecords) -> None:
    first = await Business.create(name="First", support_email="help@first.example")
    second = await Business.create(name="Second", support_email="help@second.example")
    now = datetime.now(UTC)
    txt.publish(await claim(first, now=now))
    txt.publish(await claim(second, now=now + timedelta(seconds=1)))

    assert await check_due_claims(txt, now=now + timedelta(minutes=5)) == 1

    assert (await business_for_host(CUSTOM_HOST)).id == first.id
    assert (await hostnames_of(first), await hostnames_of(second)) == ([CUSTOM_HOST], [])


async def test_a_claim_verified_while_another_was_checked_keeps_the_domain(txt: PublishedRecords) -> None:
    holder = await Business.create(name="Holder", support_email="help@holder.example")
    late = await Business.create(name="Late", support_email="help@late.example")
    holders_claim = await claim(holder)
    lates_claim = await claim(late)
    txt.publish(lates_claim)
    # As a concurrent check would leave it: the holder's claim verified, the late one not yet dropped.
    await CustomDomain.filter(id=holders_claim.id).update(verified_hostname=CUSTOM_HOST, verified_at=datetime.now(UTC))

    with pytest.raises(CustomDomainError) as refusal:
        await verify_custom_domain(late, CUSTOM_HOST, platform_url=PLATFORM, livemode=True, lookup=txt)

    assert refusal.value.code == CustomDomainErrorCode.HOSTNAME_TAKEN
    assert (await business_for_host(CUSTOM_HOST)).id == holder.id
    assert (await hostnames_of(holder), await hostnames_of(late)) == ([CUSTOM_HOST], [])


async def test_an_unproven_claim_expires_is_dropped_and_can_be_made_anew(txt: PublishedRecords) -> None:
    squatter = await Business.create(name="Squatter", support_email="help@squatter.example")
    start = datetime.now(UTC)
    stale = await claim(squatter, now=start)
    expiry = start + PENDING_CLAIM_LIFETIME

    await check_due_claims(txt, now=expiry - timedelta(seconds=1))
    assert await hostnames_of(squatter) == [CUSTOM_HOST]
    lookups = len(txt.lookups)
    await check_due_claims(txt, now=expiry)

    assert await CustomDomain.all().count() == 0 and len(txt.lookups) == lookups
    fresh = await claim(squatter)
    assert fresh.id != stale.id and fresh.verification_token != stale.verification_token


async def test_an_expired_claim_is_not_verified_even_before_the_worker_drops_it(txt: PublishedRecords) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    start = datetime.now(UTC)
    domain = await claim(business, now=start)
    txt.publish(domain)

    with pytest.raises(CustomDomainError) as refusal:
        await verify_custom_domain(
            business, CUSTOM_HOST, platform_url=PLATFORM, livemode=True, lookup=txt, now=start + PENDING_CLAIM_LIFETIME
        )

    assert refusal.value.code == CustomDomainErrorCode.DOMAIN_NOT_FOUND
    assert txt.lookups == []
    assert (await CustomDomain.get(id=domain.id)).status == CustomDomainStatus.PENDING


async def test_another_business_claim_cannot_be_seen_or_checked(
    client: httpx.AsyncClient, txt: PublishedRecords
) -> None:
    owner = await Business.create(name="Owner", support_email="help@owner.example")
    intruder = await Business.create(name="Intruder", support_email="help@intruder.example")
    pending = await claim(owner)
    key = await bearer(intruder)

    answers = [
        (await merchant(client, key, VERIFY, hostname=hostname))["verifyCustomDomain"]
        for hostname in (CUSTOM_HOST, "nothing-here.example.com", "not a hostname")
    ]
    txt.publish(pending)
    still_foreign = (await merchant(client, key, VERIFY, hostname=CUSTOM_HOST))["verifyCustomDomain"]
    listed = await merchant(client, key, BUSINESS_DOMAINS)

    assert answers[0] == answers[1] == answers[2] == still_foreign
    assert answers[0]["customDomain"] is None
    assert [(e["code"], e["field"]) for e in answers[0]["errors"]] == [("DOMAIN_NOT_FOUND", "hostname")]
    assert listed["business"]["customDomains"] == {"totalCount": 0, "nodes": []}
    assert txt.lookups == []
    unchanged = await CustomDomain.get(id=pending.id)
    assert (unchanged.status, unchanged.last_checked_at) == (CustomDomainStatus.PENDING, None)


async def test_the_worker_loop_verifies_a_published_claim(txt: PublishedRecords) -> None:
    business = await Business.create(name="Acme", support_email="help@acme.example")
    domain = await claim(business, now=datetime.now(UTC) - timedelta(minutes=1))
    txt.publish(domain)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(dataclasses.replace(SETTINGS, worker_poll_seconds=0.05), stop, txt))
    try:
        for _ in range(100):
            if (await CustomDomain.get(id=domain.id)).status == CustomDomainStatus.VERIFIED:
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)

    assert (await CustomDomain.get(id=domain.id)).status == CustomDomainStatus.VERIFIED


async def test_the_dns_lookup_joins_a_record_strings_and_finds_nothing_when_dns_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple] = []

    async def answering(name: str, rdtype: str, **options: object) -> list[SimpleNamespace]:
        asked.append((name, rdtype))
        return [SimpleNamespace(strings=(b"portal-verification=", b"abc")), SimpleNamespace(strings=(b"v=spf1",))]

    async def timing_out(name: str, rdtype: str, **options: object) -> None:
        raise dns.exception.Timeout

    monkeypatch.setattr(dns.asyncresolver, "resolve", answering)
    found = await dns_txt_lookup(f"_portal-challenge.{CUSTOM_HOST}")
    monkeypatch.setattr(dns.asyncresolver, "resolve", timing_out)
    failed = await dns_txt_lookup(f"_portal-challenge.{CUSTOM_HOST}")

    assert found == ["portal-verification=abc", "v=spf1"]
    assert asked == [(f"_portal-challenge.{CUSTOM_HOST}.", "TXT")]
    assert failed == []


async def test_domains_added_before_verification_keep_serving_after_the_upgrade(tmp_path: Path) -> None:
    async with scratch_database_url(tmp_path) as url:
        config = tortoise_config(url)
        async with TortoiseContext() as context:
            await context.init(config=config)
            await apply_migrations(config=config, target="portal.0007_invoice_line_wording")
            business = await create_before(Business, {"tax_id"}, name="Old Shop", support_email="help@old.example")
            await context.connections.get("default").execute_script(
                "INSERT INTO custom_domain (id, created_at, business_id, hostname) "
                f"VALUES ('dom_old', '2025-01-01 00:00:00+00:00', '{business.id}', '{CUSTOM_HOST}')"
            )
        await migrate_database(url)
        async with TortoiseContext() as context:
            await context.init(config=config)
            domain = await CustomDomain.get(id="dom_old")
            served = await business_for_host(CUSTOM_HOST)

    assert domain.status == CustomDomainStatus.VERIFIED and domain.verified_at == domain.created_at
    assert domain.expires_at is None and len(domain.verification_token) >= 32
    assert served.id == business.id
