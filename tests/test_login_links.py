"""Sign-in links and magic links: who gets an email, what a link opens, and that it opens it once, in time."""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from access.login_links import (
    ConsumeResult,
    LinkProblem,
    PortalLinkError,
    PortalLinkErrorCode,
    consume_link,
    create_magic_link,
    peek_link,
    request_sign_in,
)
from access.sessions import SessionPolicy, viewer_for_token
from core.email_outbox import opened_context
from models import Business, Customer, EmailMessage, LoginToken, PortalConfiguration, PortalSession
from models.enums import LoginTokenKind, Scope

BASE_URL = "https://portal.example"
POLICY = SessionPolicy()
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FIFTEEN_MINUTES = 900
ONE_DAY = 86400
SECRET_KEY = "test-secret-key"


async def make_business(name: str) -> Business:
    return await Business.create(name=name, support_email=f"help@{name.lower()}.example", logo_url="/logo.svg")


async def make_customer(business: Business, email: str = "alice@example.com", livemode: bool = True) -> Customer:
    return await Customer.create(business=business, email=email, livemode=livemode, name="Alice")


async def ask_for_link(
    email: str, business: Business | None, livemode: bool = True, client_ip: str = "203.0.113.7", now=NOW
) -> None:
    await request_sign_in(
        email=email,
        business=business,
        livemode=livemode,
        locale="de",
        client_ip=client_ip,
        base_url=BASE_URL,
        link_seconds=FIFTEEN_MINUTES,
        portal_name="Portal",
        secret_key=SECRET_KEY,
        now=now,
    )


def emailed_link(message: EmailMessage) -> str:
    return opened_context(message, SECRET_KEY)["link"]


async def emailed_links() -> list[str]:
    return [emailed_link(message) for message in await EmailMessage.all().order_by("created_at")]


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


async def follow(link: str, now=NOW, client_ip: str = "203.0.113.7") -> ConsumeResult:
    return await consume_link(token_of(link), client_ip=client_ip, policy=POLICY, now=now)


async def magic_link(customer: Customer, **options) -> str:
    link, _ = await create_magic_link(
        customer=customer,
        base_url=BASE_URL,
        link_seconds=ONE_DAY,
        portal_name="Portal",
        secret_key=SECRET_KEY,
        now=NOW,
        **options,
    )
    return link


async def visible_customers(result: ConsumeResult) -> set[str]:
    viewer = await viewer_for_token(result.session_token, POLICY, now=NOW)
    return set(viewer.customer_ids)


async def test_a_known_email_gets_a_branded_sign_in_link() -> None:
    business = await make_business("Acme")
    await make_customer(business)

    await ask_for_link("  Alice@Example.COM ", business)

    message = await EmailMessage.get()
    assert message.to_email == "alice@example.com"
    assert message.template == "sign_in"
    assert message.locale == "de"
    assert message.from_name == "Acme via Portal"
    assert message.reply_to == "help@acme.example"
    assert message.livemode is True
    assert emailed_link(message).startswith(f"{BASE_URL}/session/cpl_")
    assert "link" not in message.context  # sealed, not stored in clear (tests/test_outbox_secrets.py)
    assert message.context["business_name"] == "Acme"
    assert message.context["logo_url"] == "/logo.svg"
    assert message.context["expires_minutes"] == 15
    stored = await LoginToken.get()
    assert stored.kind == LoginTokenKind.SIGN_IN
    assert stored.token_hash == hashlib.sha256(token_of(emailed_link(message)).encode()).hexdigest()


async def test_no_email_for_an_unknown_address_another_business_or_another_mode() -> None:
    acme, globex = await make_business("Acme"), await make_business("Globex")
    await make_customer(globex)

    await ask_for_link("nobody@example.com", acme)
    await ask_for_link("alice@example.com", acme)
    await ask_for_link("alice@example.com", globex, livemode=False)
    await ask_for_link("nobody@example.com", None)

    assert await EmailMessage.all().count() == 0
    assert await LoginToken.all().count() == 0


async def test_sign_in_requests_stop_sending_past_the_rate_limits() -> None:
    business = await make_business("Acme")
    await make_customer(business)
    await make_customer(business, email="bob@example.com")

    for i in range(7):
        await ask_for_link("alice@example.com", business, client_ip=f"198.51.100.{i}")
    for i in range(20):
        await ask_for_link(f"stranger{i}@example.com", business, client_ip="203.0.113.99")
    await ask_for_link("bob@example.com", business, client_ip="203.0.113.99")

    recipients = await EmailMessage.all().values_list("to_email", flat=True)
    assert recipients == ["alice@example.com"] * 5


async def test_the_emailed_link_opens_that_customers_business_portal_once() -> None:
    acme, globex = await make_business("Acme"), await make_business("Globex")
    alice = await make_customer(acme)
    await make_customer(globex)
    await ask_for_link("alice@example.com", acme)
    [link] = await emailed_links()

    first = await follow(link)
    second = await follow(link)

    assert first.ok and first.session.scope == Scope.BUSINESS
    assert await visible_customers(first) == {alice.id}
    assert second.problem == LinkProblem.USED and second.session is None
    assert (await Customer.get(id=alice.id)).email_verified


async def test_looking_at_a_link_never_uses_it() -> None:
    business = await make_business("Acme")
    await make_customer(business)
    await ask_for_link("alice@example.com", business)
    [link] = await emailed_links()

    state = await peek_link(token_of(link), now=NOW)
    assert state.valid and state.kind == LoginTokenKind.SIGN_IN and state.business.id == business.id
    assert (await peek_link(token_of(link), now=NOW)).valid

    assert (await follow(link)).ok
    assert (await peek_link(token_of(link), now=NOW)).problem == LinkProblem.USED


async def test_a_sign_in_link_expires_after_fifteen_minutes() -> None:
    business = await make_business("Acme")
    await make_customer(business)
    await ask_for_link("alice@example.com", business)
    [link] = await emailed_links()
    later = NOW + timedelta(minutes=15, seconds=1)

    state = await peek_link(token_of(link), now=later)
    result = await follow(link, now=later)

    assert state.problem == LinkProblem.EXPIRED and state.business.id == business.id
    assert result.problem == LinkProblem.EXPIRED
    assert await PortalSession.all().count() == 0


async def test_an_unknown_token_opens_nothing() -> None:
    for token in ["cpl_" + "x" * 43, "cps_whatever", ""]:
        assert (await peek_link(token, now=NOW)).problem == LinkProblem.UNKNOWN
        assert (await consume_link(token, client_ip="203.0.113.7", policy=POLICY, now=NOW)).problem == (
            LinkProblem.UNKNOWN
        )


async def test_two_simultaneous_confirmations_open_exactly_one_session() -> None:
    customer = await make_customer(await make_business("Acme"))
    link = await magic_link(customer)

    results = await asyncio.gather(follow(link), follow(link))

    assert sorted(result.ok for result in results) == [False, True]
    assert [result.problem for result in results if not result.ok] == [LinkProblem.USED]
    assert await PortalSession.all().count() == 1


async def test_a_test_mode_link_only_opens_test_data() -> None:
    business = await make_business("Acme")
    await make_customer(business, livemode=True)
    test = await make_customer(business, livemode=False)
    await Customer.all().update(email_verified=True)
    await ask_for_link("alice@example.com", None, livemode=False)
    [link] = await emailed_links()

    result = await follow(link)

    assert result.session.livemode is False
    assert await visible_customers(result) == {test.id}


async def test_a_unified_sign_in_shows_the_proven_records_and_verifies_none() -> None:
    acme, globex = await make_business("Acme"), await make_business("Globex")
    at_acme = await Customer.create(business=acme, email="alice@example.com", livemode=True, email_verified=True)
    at_globex = await make_customer(globex)  # Globex says Alice is its customer; she never proved it there
    await make_customer(globex, email="bob@example.com")
    await ask_for_link("alice@example.com", None)
    [link] = await emailed_links()
    message = await EmailMessage.get()
    assert message.from_name == "Portal" and message.context["business_name"] == "Portal"

    result = await follow(link)

    assert result.session.scope == Scope.UNIFIED
    assert await visible_customers(result) == {at_acme.id}
    assert not (await Customer.get(id=at_globex.id)).email_verified


async def test_a_unified_sign_in_is_sent_to_an_email_only_unproven_records_have() -> None:
    customer = await make_customer(await make_business("Globex"))
    await ask_for_link("alice@example.com", None)
    [link] = await emailed_links()

    result = await follow(link)

    assert result.ok and await visible_customers(result) == set()
    assert not (await Customer.get(id=customer.id)).email_verified


async def test_link_attempts_from_one_address_are_rate_limited() -> None:
    customer = await make_customer(await make_business("Acme"))
    link = await magic_link(customer)
    for _ in range(30):
        await consume_link("cpl_guess", client_ip="203.0.113.66", policy=POLICY, now=NOW)

    blocked = await follow(link, client_ip="203.0.113.66")
    elsewhere = await follow(link, client_ip="198.51.100.1")

    assert blocked.problem == LinkProblem.RATE_LIMITED
    assert elsewhere.ok


async def test_a_magic_link_carries_return_url_locale_and_configuration_for_24_hours() -> None:
    business = await make_business("Acme")
    customer = await make_customer(business)
    configuration = await PortalConfiguration.create(business=business, livemode=True)
    link = await magic_link(
        customer, return_url="https://acme.example/account", locale="pt-BR", configuration_id=configuration.id
    )

    assert (await follow(link, now=NOW + timedelta(hours=24, seconds=1))).problem == LinkProblem.EXPIRED
    result = await follow(link, now=NOW + timedelta(hours=23))

    assert result.session.scope == Scope.BUSINESS and result.session.customer_id == customer.id
    assert result.session.return_url == "https://acme.example/account"
    assert result.session.locale == "pt-BR"
    assert result.session.configuration_id == configuration.id
    assert not (await Customer.get(id=customer.id)).email_verified
    assert await EmailMessage.all().count() == 0


async def test_a_magic_link_can_be_emailed_to_the_customer() -> None:
    customer = await make_customer(await make_business("Acme"))

    link = await magic_link(customer, send_email=True)

    message = await EmailMessage.get()
    assert (message.template, message.to_email, emailed_link(message)) == ("magic_link", customer.email, link)
    assert message.context["expires_minutes"] == 24 * 60


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"return_url": "javascript:alert(1)"}, PortalLinkErrorCode.INVALID_RETURN_URL),
        ({"return_url": "/relative"}, PortalLinkErrorCode.INVALID_RETURN_URL),
        ({"return_url": "https://user:pw@acme.example/"}, PortalLinkErrorCode.INVALID_RETURN_URL),
        ({"locale": "not a locale"}, PortalLinkErrorCode.INVALID_LOCALE),
        ({"configuration_id": "bpc_missing"}, PortalLinkErrorCode.CONFIGURATION_NOT_FOUND),
    ],
)
async def test_a_magic_link_refuses_bad_options(options: dict, code: PortalLinkErrorCode) -> None:
    customer = await make_customer(await make_business("Acme"))

    with pytest.raises(PortalLinkError) as raised:
        await magic_link(customer, **options)

    assert raised.value.code == code
    assert await LoginToken.all().count() == 0


async def test_a_magic_link_refuses_another_business_configuration() -> None:
    customer = await make_customer(await make_business("Acme"))
    foreign = await PortalConfiguration.create(business=await make_business("Globex"), livemode=True)
    test_mode = await PortalConfiguration.create(business_id=customer.business_id, livemode=False)

    for configuration in (foreign, test_mode):
        with pytest.raises(PortalLinkError) as raised:
            await magic_link(customer, configuration_id=configuration.id)
        assert raised.value.code == PortalLinkErrorCode.CONFIGURATION_NOT_FOUND
