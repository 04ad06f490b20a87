"""Sign-in links, magic links, email codes and email-change links never sit in clear in the outbox: not while the
email waits, not once it is sent, not once it has finally failed; and the email that goes out still carries a
working link or code."""

import json
import re

from gateway.settings import Settings
from gateway.worker import MAX_ATTEMPTS, process_due_emails
from gateway.worker.mailer import compose_email
from merchants.api_keys import create_api_key
from models import EmailMessage
from models.enums import DeliveryStatus
from tests.support.factories import business_token
from tests.support.portal import (
    CHANGE_LINK,
    LINK,
    Mailbox,
    ask_for_sign_in_link,
    create_shop,
    follow_link,
    text_of,
)

CODE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)


async def stored(template: str) -> str:
    """Everything the outbox row of the one email of `template` holds, as text."""
    [row] = await EmailMessage.filter(template=template).values()
    return json.dumps(row, default=str)


async def sent_text(settings: Settings, mailbox: Mailbox) -> str:
    assert await process_due_emails(settings) == 1
    return text_of(mailbox.messages[-1])


async def test_a_sign_in_link_is_not_stored_while_waiting_nor_after_sending(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com")
    waiting = await stored("sign_in")

    link = LINK.search(await sent_text(portal_settings, mailbox))[0]

    token = link.rsplit("/", 1)[1]
    assert token not in waiting
    assert token not in await stored("sign_in")
    assert (await follow_link(portal_http, link)).status_code == 303  # the link opens the portal


async def test_a_sign_in_link_is_erased_once_its_email_has_finally_failed(portal_http, portal_settings, mailbox):
    mailbox.stop()
    shop = await create_shop("Acme Tools")
    await ask_for_sign_in_link(portal_http, f"/login/{shop.business.id}", "ada@example.com")
    row = await EmailMessage.get(template="sign_in")
    # What the worker would send: the link is there to be sent, and nowhere in the row.
    token = LINK.search(text_of(compose_email(row, portal_settings)))[0].rsplit("/", 1)[1]
    assert token not in await stored("sign_in")

    moment = row.next_attempt_at
    for _ in range(MAX_ATTEMPTS):
        await process_due_emails(portal_settings, now=moment)
        moment = (await EmailMessage.get(id=row.id)).next_attempt_at

    failed = await EmailMessage.get(id=row.id)
    assert failed.status == DeliveryStatus.FAILED
    assert token not in await stored("sign_in")
    assert failed.sealed_context is None  # not even sealed: nothing is left that the key could open


async def test_a_magic_link_emailed_by_the_merchant_is_not_stored(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    secret, _ = await create_api_key(shop.business, livemode=True)

    answer = await portal_http.post(
        f"/customers/{shop.customer.id}/customer-portal/session",
        params={"send_email": "true"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    token = answer.json()["link"].rsplit("/", 1)[1]
    waiting = await stored("magic_link")

    assert token in await sent_text(portal_settings, mailbox)
    assert token not in waiting
    assert token not in await stored("magic_link")


async def test_an_email_code_is_not_stored_and_the_emailed_one_works(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    await portal_http.post("/auth/email-code", json={"email": "ada@example.com", "business_id": shop.business.id})
    waiting = await stored("email_code")

    code = CODE.search(await sent_text(portal_settings, mailbox))[1]

    assert code not in waiting
    assert code not in await stored("email_code")
    traded = await portal_http.post(
        "/auth/token", json={"email": "ada@example.com", "business_id": shop.business.id, "code": code}
    )
    assert traded.status_code == 200


async def test_an_email_change_link_is_not_stored(portal_http, portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    mutation = 'mutation { requestEmailChange(input: {newEmail: "ada@new.example"}) { errors { code } } }'
    answer = await portal_http.post(
        "/graphql", json={"query": mutation}, headers={"Authorization": f"Bearer {await business_token(shop.customer)}"}
    )
    assert answer.json()["data"]["requestEmailChange"]["errors"] == []
    waiting = await stored("email_change")

    token = CHANGE_LINK.search(await sent_text(portal_settings, mailbox))[2]

    assert token not in waiting
    assert token not in await stored("email_change")
