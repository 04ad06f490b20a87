"""Emails from the outbox to a real SMTP server: rendering (branded multipart, the recipient's language), the log
instead of SMTP for the demo, retries with backoff when the server is down, and exactly-once delivery."""

import asyncio
import dataclasses
import logging
from datetime import timedelta

import pytest
from asyncpg import ConnectionDoesNotExistError
from tortoise import connections

import gateway.worker
from access.login_links import create_magic_link, request_sign_in
from gateway.worker import CLAIM_LEASE, MAX_ATTEMPTS, RETRY_DELAYS, process_due_emails, run_worker
from gateway.worker.mailer import send_email
from models import EmailMessage
from models.enums import DeliveryStatus
from tests.support.databases import uses_postgres
from tests.support.portal import Mailbox, create_shop, html_of, text_of


async def ask(settings, email="ada@example.com", business=None, locale="en") -> None:
    await request_sign_in(
        email=email,
        business=business,
        livemode=True,
        locale=locale,
        client_ip="192.0.2.1",
        base_url=settings.base_url,
        link_seconds=settings.sign_in_link_seconds,
        portal_name=settings.portal_name,
        secret_key=settings.secret_key,
    )


async def test_a_sign_in_email_is_branded_multipart_in_the_customers_language(portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    await ask(portal_settings, business=shop.business, locale="ja-JP")
    assert await process_due_emails(portal_settings) == 1

    [message] = mailbox.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "Acme Tools のログインリンク"
    assert message["Content-Language"] == "ja"
    assert message["From"].addresses[0].display_name == "Acme Tools via Customer Portal"
    assert message["Reply-To"] == "help@acme.example"
    row = await EmailMessage.get()
    assert row.id in message["Message-ID"]

    text, html = text_of(message), html_of(message)
    link = mailbox.links()[0]
    assert link in text and f'href="{link}"' in html
    assert "15 分後に期限が切れます" in text
    assert '<html lang="ja" dir="ltr">' in html
    assert "background:#0b3d91" in html  # the business's primary colour
    assert 'src="https://cdn.example/logo.png"' in html


async def test_arabic_emails_read_right_to_left_and_count_hours(portal_settings, mailbox):
    shop = await create_shop("Acme Tools")
    await create_magic_link(
        customer=shop.customer,
        base_url=portal_settings.base_url,
        link_seconds=portal_settings.magic_link_seconds,
        portal_name=portal_settings.portal_name,
        secret_key=portal_settings.secret_key,
        locale="ar",
        send_email=True,
    )
    await process_due_emails(portal_settings)
    [message] = mailbox.messages
    assert '<html lang="ar" dir="rtl">' in html_of(message)
    assert "خلال 24 ساعة" in text_of(message)
    assert message["Subject"] == "أدِر حسابك لدى Acme Tools"


async def test_the_unified_portal_email_comes_from_the_portal(portal_settings, mailbox):
    await create_shop("Acme Tools")
    await ask(portal_settings, business=None)
    await process_due_emails(portal_settings)
    [message] = mailbox.messages
    assert message["From"].addresses[0].display_name == "Customer Portal"
    assert message["Reply-To"] is None
    assert message["Subject"] == "Your sign-in link for Customer Portal"
    # The portal sends it on its own behalf, and says so once.
    assert "Sent by Customer Portal." in text_of(message) and "on behalf of" not in text_of(message)
    assert "Sent by Customer Portal." in html_of(message) and "on behalf of" not in html_of(message)


async def test_without_smtp_the_email_and_its_link_go_to_the_log(portal_settings, mailbox, caplog):
    settings = dataclasses.replace(portal_settings, smtp_host="")
    shop = await create_shop("Acme Tools")
    await ask(settings, business=shop.business)
    with caplog.at_level(logging.WARNING, logger="gateway.worker.mailer"):
        assert await process_due_emails(settings) == 1
    assert mailbox.messages == []
    logged = caplog.text
    assert "No SMTP server configured" in logged
    assert "To: ada@example.com" in logged and "Sign in to Acme Tools" in logged
    assert f"Link: {settings.base_url}/session/cpl_" in logged
    row = await EmailMessage.get()
    assert (row.status, row.context) == (DeliveryStatus.SENT, {})


async def test_smtp_down_then_up_delivers_exactly_once(portal_settings, mailbox):
    mailbox.stop()
    shop = await create_shop("Acme Tools")
    await ask(portal_settings, business=shop.business)
    start = (await EmailMessage.get()).next_attempt_at

    assert await process_due_emails(portal_settings, now=start) == 0
    row = await EmailMessage.get()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.next_attempt_at == start + RETRY_DELAYS[0]
    assert row.last_error and "cpl_" not in row.last_error
    assert row.sealed_context  # the link, kept sealed until it is sent

    assert await process_due_emails(portal_settings, now=start + timedelta(seconds=1)) == 0  # not due yet
    assert (await EmailMessage.get()).attempts == 1

    mailbox.start()
    assert await process_due_emails(portal_settings, now=start + timedelta(seconds=6)) == 1
    assert await process_due_emails(portal_settings, now=start + timedelta(hours=1)) == 0
    assert len(mailbox.messages) == 1
    row = await EmailMessage.get()
    assert (row.status, row.attempts, row.context, row.last_error) == (DeliveryStatus.SENT, 2, {}, None)
    assert row.sealed_context is None


async def test_an_email_sent_again_after_its_worker_died_keeps_its_message_id(portal_settings, mailbox):
    """A worker killed between the SMTP send and recording it leaves the email to another worker once its lease
    ends: the copy carries the same Message-ID, so the receiving server or mail client can drop it."""
    shop = await create_shop("Acme Tools")
    await ask(portal_settings, business=shop.business)
    row = await EmailMessage.get()
    await send_email(row, portal_settings)  # sent by the worker that died before recording it

    assert await process_due_emails(portal_settings, now=row.next_attempt_at + CLAIM_LEASE) == 1
    first, again = mailbox.messages
    assert first["Message-ID"] == again["Message-ID"]


async def test_failures_back_off_then_give_up(portal_settings, mailbox):
    mailbox.stop()
    shop = await create_shop("Acme Tools")
    await ask(portal_settings, business=shop.business)
    moment = (await EmailMessage.get()).next_attempt_at
    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert await process_due_emails(portal_settings, now=moment) == 0
        row = await EmailMessage.get()
        waits.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at
    assert waits == [*RETRY_DELAYS, timedelta(0)]
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert row.sealed_context is None and row.context  # the link is gone; what failed is still there to see
    assert await process_due_emails(portal_settings, now=moment + timedelta(days=1)) == 0


async def test_workers_side_by_side_send_each_email_once(portal_settings, mailbox: Mailbox):
    shop = await create_shop("Acme Tools")
    for index in range(3):
        await create_shop(f"Shop {index}", email=f"customer{index}@example.com")
        await ask(portal_settings, email=f"customer{index}@example.com")
    await ask(portal_settings, business=shop.business)

    sent = await asyncio.gather(*(process_due_emails(portal_settings) for _ in range(3)))
    assert sum(sent) == 4
    assert sorted(message["To"] for message in mailbox.messages) == [
        "ada@example.com",
        "customer0@example.com",
        "customer1@example.com",
        "customer2@example.com",
    ]


async def test_a_stopping_worker_hands_back_the_emails_it_has_not_sent(portal_settings, mailbox: Mailbox):
    for index in range(3):
        await create_shop(f"Shop {index}", email=f"customer{index}@example.com")
        await ask(portal_settings, email=f"customer{index}@example.com")
    stop = asyncio.Event()
    stop.set()

    assert await process_due_emails(portal_settings, stop=stop) == 0
    assert mailbox.messages == []
    # Another worker sends them at once, not when the stopped worker's lease would have ended.
    assert await process_due_emails(portal_settings) == 3


@pytest.mark.skipif(not uses_postgres(), reason="a pooled connection's BEGIN fails as PostgreSQL restarts")
async def test_the_worker_sends_again_after_a_transaction_failed_to_begin(portal_settings, mailbox, monkeypatch):
    """PostgreSQL restarting can fail a transaction's BEGIN, and tortoise then leaves that dead transaction as the
    current one of the task that tried: every later pass in that task would run inside it and fail for good."""
    shop = await create_shop("Acme Tools")
    await ask(portal_settings, business=shop.business)
    transaction = type(connections.get("default")._in_transaction().client)
    real_begin, real_claim = transaction.begin, gateway.worker.claim_due_emails
    claiming: list[asyncio.Task | None] = []  # the task of the first outbox claim, until its BEGIN has failed

    async def claim(now):
        if not claiming:
            claiming.append(asyncio.current_task())
        return await real_claim(now)

    async def begin(self) -> None:
        if claiming[-1:] == [asyncio.current_task()]:
            claiming.append(None)
            # The server closed the connection: the pool has it back, and the transaction holds a dead handle.
            await self._parent._pool.release(self._connection)
            raise ConnectionDoesNotExistError("connection was closed in the middle of operation")
        await real_begin(self)

    monkeypatch.setattr(gateway.worker, "claim_due_emails", claim)
    monkeypatch.setattr(transaction, "begin", begin)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(dataclasses.replace(portal_settings, worker_poll_seconds=0.05), stop))
    for _ in range(100):
        if mailbox.messages:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await worker
    assert None in claiming  # the first claim failed
    assert len(mailbox.messages) == 1
