"""The hosted pages through the ASGI app, with a real SMTP server receiving the sign-in emails: static (business)
and unified sign-in, magic links, expired and reused links, no user enumeration, rate limits, CSRF, security
headers, languages."""

import re
from datetime import timedelta

import httpx
import pytest
from starlette.requests import Request

from access.login_links import create_magic_link, peek_link
from core.clock import utcnow
from gateway.http.csrf import csrf_header_valid
from gateway.settings import Settings
from gateway.worker import process_due_emails
from models import EmailMessage, PortalSession
from tests.support.portal import (
    Mailbox,
    ask_for_sign_in_link,
    create_shop,
    csrf_from,
    follow_link,
    portal_client,
    text_of,
)


def without_nonce(page: str) -> str:
    """A page without its per-response CSP nonce, the one part that differs between any two answers."""
    return re.sub(r'nonce="[^"]+"', 'nonce=""', page)


async def sign_in(client: httpx.AsyncClient, settings: Settings, mailbox: Mailbox, login_path: str) -> httpx.Response:
    """The whole static-link journey: ask, receive the email, follow the link, land on the portal home."""
    await ask_for_sign_in_link(client, login_path, "ada@example.com")
    assert await process_due_emails(settings) == 1
    confirmed = await follow_link(client, mailbox.links()[-1])
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/"
    return await client.get("/")


async def test_the_email_field_has_focus_and_check_your_email_sends_the_link_again(
    portal_http, portal_settings, mailbox
):
    shop = await create_shop("Acme Tools")
    login = await portal_http.get(f"/login/{shop.business.id}")
    answer = await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com")
    again = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', answer.text, re.S)

    assert re.search(r'<input id="email"[^>]* autofocus', login.text)
    assert again is not None and again[1] == f"/login/{shop.business.id}"
    assert 'name="email" value="ada@example.com"' in again[2] and "Send the link again" in again[2]
    resent = await portal_http.post(again[1], data={"csrf_token": csrf_from(answer), "email": "ada@example.com"})
    assert "Check your email" in resent.text
    assert await process_due_emails(portal_settings) == 2
    assert [message["To"] for message in mailbox.messages] == ["ada@example.com"] * 2


async def test_business_sign_in_reaches_the_portal_home(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    login = await portal_http.get(f"/login/{shop.business.id}")
    assert login.status_code == 200
    assert "Acme Tools" in login.text and "Acme Tools for everyone" in login.text

    answer = await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com")
    assert answer.status_code == 200
    assert "Check your email" in answer.text
    assert await process_due_emails(portal_settings) == 1

    [message] = mailbox.messages
    assert message["To"] == "ada@example.com"
    assert message["From"].addresses[0].display_name == "Acme Tools via Customer Portal"
    assert message["From"].addresses[0].addr_spec == "portal@portal.example"
    assert message["Reply-To"] == "help@acme.example"
    assert message["Subject"] == "Your sign-in link for Acme Tools"
    link = mailbox.links()[0]
    assert link.startswith(f"{portal_settings.base_url}/session/cpl_")

    confirm = await portal_http.get(httpx.URL(link).path)
    assert "Continue to Acme Tools" in confirm.text
    confirmed = await portal_http.post(httpx.URL(link).path, data={"csrf_token": csrf_from(confirm)})
    assert confirmed.status_code == 303
    cookie = next(h for h in confirmed.headers.get_list("set-cookie") if h.startswith("portal_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie

    home = await portal_http.get("/")
    assert home.status_code == 200
    assert "Pro plan" in home.text
    assert "$49.00" in home.text
    assert "Active" in home.text
    assert "Renews on March 5, 2031" in home.text
    assert "AC-0001" in home.text
    assert "ACME-TOOLS-KEY-0001" in home.text
    assert "Return to" not in home.text


async def test_unified_sign_in_groups_every_business(portal_http, portal_settings, mailbox):
    acme = await create_shop("Acme Tools", product_name="Pro plan")
    lumiere = await create_shop("Atelier Lumiere", product_name="Studio", amount=2400, currency="EUR")
    await create_shop("Other Shop", email="someone.else@example.com", product_name="Not hers")

    home = await sign_in(portal_http, portal_settings, mailbox, "/login")
    assert home.status_code == 200
    for text in ("Acme Tools", "Atelier Lumiere", "Pro plan", "Studio", "$49.00", "€24.00"):
        assert text in home.text
    assert "Other Shop" not in home.text and "Not hers" not in home.text
    assert f'href="/?business={acme.business.id}"' in home.text

    narrowed = await portal_http.get("/", params={"business": lumiere.business.id})
    assert "Studio" in narrowed.text and "Pro plan" not in narrowed.text
    assert 'href="/"' in narrowed.text  # back to every business

    outside = await portal_http.get("/", params={"business": "bus_doesnotexist"})
    assert outside.status_code == 404


async def test_magic_link_is_confirmed_before_it_is_used(portal_http, portal_settings):
    shop = await create_shop("Acme Tools")
    link, _ = await create_magic_link(
        customer=shop.customer,
        base_url=portal_settings.base_url,
        link_seconds=portal_settings.magic_link_seconds,
        portal_name=portal_settings.portal_name,
        secret_key=portal_settings.secret_key,
        return_url="https://acme.example/account",
    )
    path = httpx.URL(link).path
    for _ in range(2):  # a mail scanner's GET, then the customer's: neither burns the link
        confirm = await portal_http.get(path)
        assert confirm.status_code == 200
        assert "Continue to Acme Tools" in confirm.text
    assert (await peek_link(path.rsplit("/", 1)[1])).valid

    confirmed = await portal_http.post(path, data={"csrf_token": csrf_from(confirm)})
    assert confirmed.status_code == 303
    home = await portal_http.get("/")
    assert "Pro plan" in home.text
    assert 'href="https://acme.example/account"' in home.text
    assert "Return to Acme Tools" in home.text


async def test_expired_link_offers_a_new_email(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    link, _ = await create_magic_link(
        customer=shop.customer,
        base_url=portal_settings.base_url,
        link_seconds=portal_settings.magic_link_seconds,
        portal_name=portal_settings.portal_name,
        secret_key=portal_settings.secret_key,
        now=utcnow() - timedelta(days=2),
    )
    page = await portal_http.get(httpx.URL(link).path)
    assert page.status_code == 410
    assert "This link has expired" in page.text
    assert f'action="/login/{shop.business.id}"' in page.text
    assert "Acme Tools" in page.text

    answer = await portal_http.post(
        f"/login/{shop.business.id}", data={"email": "ada@example.com", "csrf_token": csrf_from(page)}
    )
    assert "Check your email" in answer.text
    assert await process_due_emails(portal_settings) == 1
    assert len(mailbox.messages) == 1


async def test_a_used_link_is_refused(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    await sign_in(portal_http, portal_settings, mailbox, f"/login/{shop.business.id}")
    path = httpx.URL(mailbox.links()[0]).path

    again = await portal_http.get(path)
    assert again.status_code == 410
    assert "This link has already been used" in again.text
    reused = await portal_http.post(path, data={"csrf_token": csrf_from(again)})
    assert reused.status_code == 410
    assert not any(h.startswith("portal_session=") for h in reused.headers.get_list("set-cookie"))

    unknown = await portal_http.get("/session/cpl_not-a-real-token")
    assert unknown.status_code == 404
    assert "This link does not work" in unknown.text


async def test_known_and_unknown_emails_get_the_same_answer(portal_http, mailbox, portal_settings):
    shop = await create_shop("Acme Tools")
    path = f"/login/{shop.business.id}"
    known = await ask_for_sign_in_link(portal_http, path, "ada@example.com")
    unknown = await ask_for_sign_in_link(portal_http, path, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    # The answers differ only by the address each visitor typed, which "Send the link again" sends back.
    typed = "ADDRESS"
    known_page = without_nonce(known.text).replace("ada@example.com", typed)
    assert known_page == without_nonce(unknown.text).replace("nobody@example.com", typed)
    assert await process_due_emails(portal_settings) == 1
    assert [message["To"] for message in mailbox.messages] == ["ada@example.com"]


async def test_sign_in_requests_past_the_rate_limit_send_nothing(portal_http, portal_settings):
    shop = await create_shop("Acme Tools")
    answers = [
        await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com") for _ in range(7)
    ]
    assert {answer.status_code for answer in answers} == {200}
    assert len({without_nonce(answer.text) for answer in answers}) == 1
    assert await EmailMessage.all().count() == 5


@pytest.mark.parametrize("token", [None, "0" * 64])
async def test_forms_without_the_visitors_csrf_token_are_refused(portal_http, portal_settings, token):
    shop = await create_shop("Acme Tools")
    path = f"/login/{shop.business.id}"
    await portal_http.get(path)  # the visitor cookie exists; only the token is missing or wrong
    data = {"email": "ada@example.com"} | ({"csrf_token": token} if token else {})
    refused = await portal_http.post(path, data=data)
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert await EmailMessage.all().count() == 0

    link, _ = await create_magic_link(
        customer=shop.customer,
        base_url=portal_settings.base_url,
        link_seconds=portal_settings.magic_link_seconds,
        portal_name=portal_settings.portal_name,
        secret_key=portal_settings.secret_key,
    )
    token_path = httpx.URL(link).path
    assert (await portal_http.post(token_path, data=data)).status_code == 403
    assert (await peek_link(token_path.rsplit("/", 1)[1])).valid
    assert (await portal_http.post("/logout", data=data)).status_code == 403


async def test_a_token_from_another_visitor_is_refused(portal_settings):
    shop = await create_shop("Acme Tools")
    path = f"/login/{shop.business.id}"
    async with portal_client(portal_settings) as attacker, portal_client(portal_settings) as victim:
        stolen = csrf_from(await attacker.get(path))
        await victim.get(path)
        refused = await victim.post(path, data={"email": "ada@example.com", "csrf_token": stolen})
    assert refused.status_code == 403


def graphql_request(visitor: str, token: str | None) -> Request:
    headers = [(b"cookie", f"portal_visitor={visitor}".encode())]
    if token is not None:
        headers.append((b"x-csrf-token", token.encode()))
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers})


async def test_cookie_authenticated_graphql_writes_need_the_csrf_header(portal_http, portal_settings):
    token = csrf_from(await portal_http.get("/login"))
    visitor = portal_http.cookies["portal_visitor"]
    assert csrf_header_valid(graphql_request(visitor, token), portal_settings)
    assert not csrf_header_valid(graphql_request(visitor, None), portal_settings)
    assert not csrf_header_valid(graphql_request(visitor, "0" * 64), portal_settings)
    assert not csrf_header_valid(graphql_request("another-visitor-entirely-000", token), portal_settings)


async def test_sign_out_revokes_the_session(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    home = await sign_in(portal_http, portal_settings, mailbox, f"/login/{shop.business.id}")
    signed_out = await portal_http.post("/logout", data={"csrf_token": csrf_from(home)})
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/login/{shop.business.id}?signed_out=1"
    assert await PortalSession.filter(revoked_at__isnull=False).count() == 1
    landing = await portal_http.get(signed_out.headers["location"])
    assert "You are signed out." in landing.text
    assert "You are signed out." not in (await portal_http.get(f"/login/{shop.business.id}")).text
    after = await portal_http.get("/")
    assert after.status_code == 303 and after.headers["location"] == "/login"


async def test_the_portal_home_needs_a_session(portal_http):
    answer = await portal_http.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"


async def test_unknown_business_and_bad_email(portal_http):
    missing = await portal_http.get("/login/bus_doesnotexist")
    assert missing.status_code == 404
    assert "Page not found" in missing.text

    shop = await create_shop("Acme Tools")
    invalid = await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "not-an-email")
    assert invalid.status_code == 422
    assert 'aria-invalid="true"' in invalid.text
    assert await EmailMessage.all().count() == 0


async def test_test_mode_pages_and_links_stay_in_test_mode(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools", livemode=False)
    live = await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com")
    assert "Check your email" in live.text
    assert await process_due_emails(portal_settings) == 0  # a test-mode customer is unknown in live mode

    home = await sign_in(portal_http, portal_settings, mailbox, f"/test/login/{shop.business.id}")
    assert "Test mode" in home.text and "Pro plan" in home.text
    assert "[Test mode" in text_of(mailbox.messages[0])


async def test_every_page_carries_the_security_headers(portal_http):
    shop = await create_shop("Acme Tools")
    for path in (f"/login/{shop.business.id}", "/login", "/session/cpl_unknown", "/login/bus_missing"):
        page = await portal_http.get(path)
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "script-src" not in policy
        nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
        assert f'<style nonce="{nonce}">' in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"


async def test_arabic_pages_read_right_to_left(portal_http, portal_settings):
    shop = await create_shop("Acme Tools")
    chosen = await portal_http.get(f"/login/{shop.business.id}", params={"locale": "ar"})
    assert '<html lang="ar" dir="rtl">' in chosen.text
    assert "تسجيل الدخول" in chosen.text
    async with portal_client(portal_settings) as browser:
        negotiated = await browser.get("/login", headers={"accept-language": "ar-EG,ar;q=0.9,en;q=0.5"})
    assert '<html lang="ar" dir="rtl">' in negotiated.text
    english = await portal_http.get("/login", params={"locale": "en"})
    assert '<html lang="en" dir="ltr">' in english.text


async def test_a_chosen_language_sticks_through_sign_in(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    path = f"/login/{shop.business.id}"
    swedish = await portal_http.get(path, params={"locale": "sv"}, headers={"accept-language": "en"})
    assert '<html lang="sv"' in swedish.text and "Logga in" in swedish.text
    again = await portal_http.get(path, headers={"accept-language": "en"})
    assert '<html lang="sv"' in again.text

    await portal_http.post(path, data={"email": "ada@example.com", "csrf_token": csrf_from(again)})
    await process_due_emails(portal_settings)
    assert mailbox.messages[0]["Subject"] == "Din inloggningslänk till Acme Tools"
    confirmed = await follow_link(portal_http, mailbox.links()[0])
    assert confirmed.status_code == 303
    home = await portal_http.get("/", headers={"accept-language": "en"})
    assert '<html lang="sv"' in home.text and "Prenumerationer" in home.text
    assert "5 mars 2031" in home.text

    japanese = await portal_http.get("/", params={"locale": "ja"})
    assert '<html lang="ja"' in japanese.text and "2031年3月5日" in japanese.text
    assert (await PortalSession.get()).locale == "ja"
    assert '<html lang="ja"' in (await portal_http.get("/")).text
