"""Changing the email address end to end, with a real SMTP server: asked through GraphQL or the profile page, the
link reaches the new address, a plain GET of it changes nothing, confirming moves the records (one business's or
every business's), the old address is told, old sessions and links end while the asking session keeps working where
it safely can, and reused, expired, replaced and unknown links, conflicts, refusals and the rate limit."""

import hashlib
from datetime import timedelta

import httpx
import pytest

from access.email_change import LINK_SECONDS
from access.login_links import LinkProblem, create_magic_link, peek_link
from access.rate_limits import EMAIL_CHANGE_PER_ACCOUNT
from access.sessions import viewer_for_token
from core.clock import utcnow
from core.i18n import translations
from gateway.settings import Settings
from gateway.worker import process_due_emails
from models import Customer, EmailChangeToken, EmailMessage, PortalConfiguration
from tests.support.factories import POLICY, business_token, unified_token
from tests.support.merchant import merchant
from tests.support.portal import (
    CHANGE_LINK,
    LINK,
    Mailbox,
    ask_for_sign_in_link,
    create_shop,
    csrf_from,
    html_of,
    portal_client,
    text_of,
)

REQUEST = """mutation Change($email: String!) {
  requestEmailChange(input: {newEmail: $email}) { errors { code field message } } }"""
NEW = "ada@new.example"
swedish = translations("sv").gettext


async def ask(http: httpx.AsyncClient, token: str, new_email: str) -> dict:
    """requestEmailChange over HTTP, as a GraphQL client with a Bearer token."""
    answer = await http.post(
        "/graphql",
        json={"query": REQUEST, "variables": {"email": new_email}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["requestEmailChange"]


async def delivered(settings: Settings, mailbox: Mailbox, to: str) -> list:
    await process_due_emails(settings)
    return [message for message in mailbox.messages if message["To"] == to]


def link_path(message) -> str:
    return CHANGE_LINK.search(text_of(message))[1]


async def confirm(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """Open the link (GET) and press the confirm button (POST), as the owner of the new address would."""
    page = await http.get(path)
    return await http.post(path, data={"csrf_token": csrf_from(page)})


async def test_a_business_record_moves_to_the_new_address(portal_http, portal_settings, mailbox) -> None:
    acme = await create_shop("Acme Tools")
    globex = await create_shop("Globex")
    await Customer.filter(id=acme.customer.id).update(locale="sv")
    asking, elsewhere_same_record = await business_token(acme.customer), await business_token(acme.customer)
    unified_old, globex_session = await unified_token("ada@example.com"), await business_token(globex.customer)
    magic_link, _ = await create_magic_link(
        customer=acme.customer,
        base_url=portal_settings.base_url,
        link_seconds=3600,
        portal_name="Customer Portal",
        secret_key=portal_settings.secret_key,
    )

    assert await ask(portal_http, asking, NEW) == {"errors": []}
    [message] = await delivered(portal_settings, mailbox, NEW)
    path = link_path(message)
    token_row = await EmailChangeToken.get()

    # The email: to the new address, in the customer's language (so are its pages), branded, with the link; only a
    # hash of its token is stored.
    assert message["Content-Language"] == "sv" and message["Reply-To"] == "help@acme.example"
    assert f'href="{portal_settings.base_url}{path}"' in html_of(message)
    assert token_row.token_hash == hashlib.sha256(CHANGE_LINK.search(text_of(message))[2].encode()).hexdigest()
    assert token_row.expires_at - token_row.created_at >= timedelta(seconds=LINK_SECONDS - 5)

    async with portal_client(portal_settings) as new_inbox:
        looked = await new_inbox.get(path)
        assert looked.status_code == 200 and swedish("Confirm new email address") in looked.text
        assert NEW in looked.text
        assert (await Customer.get(id=acme.customer.id)).email == "ada@example.com"  # a GET changes nothing
        assert (await EmailChangeToken.get()).used_at is None

        confirmed = await new_inbox.post(path, data={"csrf_token": csrf_from(looked)})
        looked_again = await new_inbox.get(path)
        reused = await new_inbox.post(path, data={"csrf_token": csrf_from(looked)})

    assert confirmed.status_code == 200 and swedish("Your email address is changed") in confirmed.text
    moved = await Customer.get(id=acme.customer.id)
    assert (moved.email, moved.email_verified) == (NEW, True)
    assert (await Customer.get(id=globex.customer.id)).email == "ada@example.com"
    assert looked_again.status_code == reused.status_code == 410
    assert swedish("This link has already been used") in reused.text

    [notice] = await delivered(portal_settings, mailbox, "ada@example.com")
    assert notice["Content-Language"] == "sv"
    assert NEW in text_of(notice) and "help@acme.example" in text_of(notice)
    assert "Acme Tools" in notice["Subject"]

    kept = await viewer_for_token(asking, POLICY)
    assert kept is not None and kept.email == NEW and [c.id for c in kept.customers] == [acme.customer.id]
    assert await viewer_for_token(elsewhere_same_record, POLICY) is None
    assert (await peek_link(magic_link.rpartition("/")[2])).problem == LinkProblem.EXPIRED
    # One business's record moved; the old address's access elsewhere is its own, and no longer shows that record.
    assert [c.id for c in (await viewer_for_token(globex_session, POLICY)).customers] == [globex.customer.id]
    assert [c.id for c in (await viewer_for_token(unified_old, POLICY)).customers] == [globex.customer.id]


async def test_a_business_moving_its_record_off_an_address_leaves_that_persons_other_portals_alone(
    portal_http, portal_settings, mailbox
) -> None:
    """Rogue makes a record with Ada's address, mints itself a token for it and moves the record to its own inbox."""
    acme = await create_shop("Acme Tools")
    rogue = await merchant("Rogue")
    made = await portal_http.post("/customers", json={"email": "ada@example.com"}, headers=rogue.live)
    record_id = made.json()["customer_id"]
    minted = await portal_http.post(f"/customers/{record_id}/access-tokens", headers=rogue.live)
    rogue_token = minted.json()["access_token"]
    at_acme, unified = await business_token(acme.customer), await unified_token("ada@example.com")
    await ask_for_sign_in_link(portal_http, f"/login/{acme.business.id}", "ada@example.com")
    [sign_in] = await delivered(portal_settings, mailbox, "ada@example.com")
    pending_link = LINK.search(text_of(sign_in))[0]

    assert await ask(portal_http, rogue_token, "owner@rogue.example") == {"errors": []}
    [message] = await delivered(portal_settings, mailbox, "owner@rogue.example")
    async with portal_client(portal_settings) as rogue_inbox:
        confirmed = await confirm(rogue_inbox, link_path(message))

    assert confirmed.status_code == 200 and (await Customer.get(id=record_id)).email == "owner@rogue.example"
    assert [c.id for c in (await viewer_for_token(at_acme, POLICY)).customers] == [acme.customer.id]
    assert [c.id for c in (await viewer_for_token(unified, POLICY)).customers] == [acme.customer.id]
    assert (await peek_link(pending_link.rpartition("/")[2])).valid


async def test_the_unified_portal_moves_every_record_through_the_profile_page(
    portal_http, portal_settings, mailbox
) -> None:
    acme, globex = await create_shop("Acme Tools"), await create_shop("Globex")
    another_unified = await unified_token("ada@example.com")
    portal_http.cookies.set("portal_session", await unified_token("ada@example.com"))

    profile = await portal_http.get("/profile")
    asked = await portal_http.post("/profile/email", data={"csrf_token": csrf_from(profile), "new_email": NEW})
    told = await portal_http.get(asked.headers["location"])
    [message] = await delivered(portal_settings, mailbox, NEW)
    looked = await portal_http.get(link_path(message))
    assert await Customer.filter(email=NEW).count() == 0
    confirmed = await portal_http.post(link_path(message), data={"csrf_token": csrf_from(looked)})

    assert asked.status_code == 303 and "We sent a link to the new address." in told.text
    assert confirmed.status_code == 200 and 'href="/"' in confirmed.text and "Go to your account" in confirmed.text
    assert {customer.email for customer in await Customer.all()} == {NEW}
    home = await portal_http.get("/")
    assert NEW in home.text and "Acme Tools" in home.text and "Globex" in home.text
    assert await viewer_for_token(another_unified, POLICY) is None
    [notice] = await delivered(portal_settings, mailbox, "ada@example.com")
    assert "help@acme.example" in text_of(notice) and "help@globex.example" in text_of(notice)
    assert {acme.customer.id, globex.customer.id} == {c.id for c in await Customer.filter(email_verified=True)}


@pytest.mark.parametrize("verified", [True, False])
async def test_a_unified_session_ends_when_the_new_address_already_sees_more(
    portal_http, portal_settings, mailbox, verified: bool
) -> None:
    await create_shop("Acme Tools")
    await create_shop("Globex", email="grace@example.com", verified=verified)
    asking = await unified_token("ada@example.com")

    assert await ask(portal_http, asking, "grace@example.com") == {"errors": []}
    [message] = await delivered(portal_settings, mailbox, "grace@example.com")
    async with portal_client(portal_settings) as grace:
        confirmed = await confirm(grace, link_path(message))

    assert confirmed.status_code == 200 and "Sign in" in confirmed.text
    assert await Customer.filter(email="grace@example.com").count() == 2
    # Staying signed in would have shown Ada's session Grace's Globex records, or let it add them to the portal.
    assert await viewer_for_token(asking, POLICY) is None


async def test_an_address_with_an_account_at_the_business_changes_nothing(
    portal_http, portal_settings, mailbox
) -> None:
    ada = await create_shop("Acme Tools")
    grace = await Customer.create(business=ada.business, livemode=True, email="grace@example.com", name="Grace")
    session = await business_token(ada.customer)

    assert await ask(portal_http, session, "grace@example.com") == {"errors": []}
    [message] = await delivered(portal_settings, mailbox, "grace@example.com")
    async with portal_client(portal_settings) as inbox:
        conflict = await confirm(inbox, link_path(message))
        again = await inbox.get(link_path(message))

    assert conflict.status_code == 409
    assert "grace@example.com already has an account at Acme Tools, so nothing was changed." in conflict.text
    assert (await Customer.get(id=ada.customer.id)).email == "ada@example.com"
    assert (await Customer.get(id=grace.id)).name == "Grace"
    assert (await EmailChangeToken.get()).used_at is None and again.status_code == 200
    assert await viewer_for_token(session, POLICY) is not None
    assert await delivered(portal_settings, mailbox, "ada@example.com") == []


async def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(portal_http, portal_settings, mailbox) -> None:
    ada = await create_shop("Acme Tools")
    await create_shop("Globex", email="grace@example.com")
    session = await business_token(ada.customer)

    known = await ask(portal_http, session, "grace@example.com")
    unknown = await ask(portal_http, session, "nobody@example.com")

    assert known == unknown == {"errors": []}
    assert len(await delivered(portal_settings, mailbox, "grace@example.com")) == 1
    assert len(await delivered(portal_settings, mailbox, "nobody@example.com")) == 1


async def test_refusals_send_nothing(portal_http) -> None:
    ada = await create_shop("Acme Tools")
    session = await business_token(ada.customer)

    malformed = await ask(portal_http, session, "not an address")
    same = await ask(portal_http, session, " ADA@example.com ")
    features = {"customer_update": {"allowed_updates": ["name", "phone", "address", "tax_id"]}}
    await PortalConfiguration.create(business=ada.business, livemode=True, is_default=True, features=features)
    not_allowed = await ask(portal_http, session, NEW)

    assert [(e["code"], e["field"]) for e in malformed["errors"]] == [("INVALID_INPUT", "newEmail")]
    assert same["errors"][0]["message"] == "This is already your email address."
    assert not_allowed["errors"] == [
        {
            "code": "NOT_ALLOWED",
            "field": "newEmail",
            "message": "Acme Tools does not let you change this here. Contact them instead.",
        }
    ]
    assert await EmailMessage.all().count() == 0 and await EmailChangeToken.all().count() == 0


async def test_an_account_may_ask_only_a_few_times_an_hour(portal_http) -> None:
    ada = await create_shop("Acme Tools")
    session = await business_token(ada.customer)

    answers = [
        await ask(portal_http, session, f"ada{n}@new.example") for n in range(EMAIL_CHANGE_PER_ACCOUNT.limit + 1)
    ]

    assert all(answer == {"errors": []} for answer in answers[:-1])
    assert [error["code"] for error in answers[-1]["errors"]] == ["RATE_LIMITED"]
    assert await EmailMessage.all().count() == EMAIL_CHANGE_PER_ACCOUNT.limit


async def test_expired_replaced_and_unknown_links_change_nothing(portal_http, portal_settings, mailbox) -> None:
    ada = await create_shop("Acme Tools")
    session = await business_token(ada.customer)
    await ask(portal_http, session, "first@new.example")
    await ask(portal_http, session, "second@new.example")
    [first] = await delivered(portal_settings, mailbox, "first@new.example")
    [second] = await delivered(portal_settings, mailbox, "second@new.example")

    replaced = await portal_http.get(link_path(first))
    await EmailChangeToken.all().update(expires_at=utcnow() - timedelta(seconds=1))
    expired = await portal_http.get(link_path(second))
    unknown = await portal_http.get("/email-change/cpl_nothing")
    csrf = csrf_from(await portal_http.get("/login"))
    unknown_post = await portal_http.post("/email-change/cpl_nothing", data={"csrf_token": csrf})

    assert replaced.status_code == expired.status_code == 410 and "This link has expired" in expired.text
    assert unknown.status_code == unknown_post.status_code == 404 and "This link does not work" in unknown.text
    assert (await Customer.get(id=ada.customer.id)).email == "ada@example.com"


async def test_confirming_needs_the_visitors_csrf_token(portal_http, portal_settings, mailbox) -> None:
    ada = await create_shop("Acme Tools")
    await ask(portal_http, await business_token(ada.customer), NEW)
    [message] = await delivered(portal_settings, mailbox, NEW)

    forged = await portal_http.post(link_path(message), data={"csrf_token": "0" * 64})

    assert forged.status_code == 403
    assert (await Customer.get(id=ada.customer.id)).email == "ada@example.com"
