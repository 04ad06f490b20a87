"""Several `portal worker` processes on one PostgreSQL database share the work: every due renewal is charged once,
every email is sent once and every webhook event is delivered under one id; SIGTERM stops each worker cleanly."""

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from billing.context import BillingContext
from merchants.webhooks import create_endpoint
from models import EmailMessage, Payment, Subscription, WebhookDelivery
from models.enums import DeliveryStatus, PaymentPurpose, SubscriptionStatus
from tests.conftest import TEST_DATABASE_URL
from tests.support.billing import subscriber
from tests.support.cli import start_portal_process
from tests.support.databases import uses_postgres
from tests.support.portal import Mailbox
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.skipif(not uses_postgres(), reason="workers on several machines share a PostgreSQL database")

WORKERS = 3
SUBSCRIPTIONS = 9
DEADLINE_SECONDS = 90


def start_workers(mailbox: Mailbox, directory: Path) -> list[subprocess.Popen]:
    environment = {
        "PORTAL_SECRET_KEY": "side-by-side-secret",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_TLS": "none",
        "PORTAL_SANDBOX_IN_LIVE_MODE": "true",
        "PORTAL_WEBHOOKS_ALLOW_PRIVATE": "true",
        "PORTAL_WORKER_POLL_SECONDS": "0.1",
        "PORTAL_BILLING_INTERVAL_SECONDS": "0.2",
    }
    return [
        start_portal_process("worker", database_url=TEST_DATABASE_URL, cwd=directory, **environment)
        for _ in range(WORKERS)
    ]


async def work_is_done() -> bool:
    renewed = await Payment.filter(purpose=PaymentPurpose.RENEWAL).count()
    waiting_emails = await EmailMessage.exclude(status=DeliveryStatus.SENT).count()
    waiting_deliveries = await WebhookDelivery.exclude(status=DeliveryStatus.SENT).count()
    return renewed >= SUBSCRIPTIONS and waiting_emails == 0 and waiting_deliveries == 0


async def wait_for_the_work(workers: list[subprocess.Popen]) -> None:
    for _ in range(DEADLINE_SECONDS * 5):
        if await work_is_done():
            return
        assert all(worker.poll() is None for worker in workers), "a worker exited"
        await asyncio.sleep(0.2)
    pytest.fail("the workers did not finish in time")


async def test_workers_side_by_side_charge_send_and_deliver_once(
    context: BillingContext, mailbox: Mailbox, receiver: Receiver, tmp_path: Path
) -> None:
    shops = [
        await subscriber(context, status=SubscriptionStatus.ACTIVE, cards=("pm_card_visa",), email=f"c{n}@example.com")
        for n in range(SUBSCRIPTIONS)
    ]
    endpoints = [
        await create_endpoint(shop.business, livemode=True, url=receiver.url, event_types=[], allow_private=True)
        for shop in shops
    ]
    workers = start_workers(mailbox, tmp_path)
    try:
        await wait_for_the_work(workers)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        exits = [await asyncio.to_thread(worker.wait, 30) for worker in workers]
    assert exits == [0] * WORKERS

    renewals = Counter(await Payment.filter(purpose=PaymentPurpose.RENEWAL).values_list("subscription_id", flat=True))
    assert renewals == Counter({shop.subscription.id: 1 for shop in shops})
    assert await Subscription.filter(status=SubscriptionStatus.ACTIVE).count() == SUBSCRIPTIONS

    sent = await EmailMessage.all().count()
    assert sent >= SUBSCRIPTIONS  # a receipt per renewal, at least
    assert len(mailbox.messages) == sent
    assert len({message["Message-ID"] for message in mailbox.messages}) == sent

    # Each event reaches its business's endpoint, signed with that endpoint's secret, under the delivery's id,
    # whichever worker sent it.
    deliveries = await WebhookDelivery.all()
    assert len(deliveries) >= SUBSCRIPTIONS
    assert sorted(request.headers["webhook-id"] for request in receiver.requests) == sorted(d.id for d in deliveries)
    secrets = {endpoint.id: secret for endpoint, secret in endpoints}
    for delivery in deliveries:
        request = next(r for r in receiver.requests if r.headers["webhook-id"] == delivery.id)
        request.verified_with(secrets[delivery.endpoint_id])
