"""Signed webhooks as a merchant's receiver sees them: a real HTTP server on 127.0.0.1 that checks every request
with `standardwebhooks`, fed by real billing actions through the worker's delivery pass."""

import asyncio
import dataclasses
import json
import re
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import WebhookVerificationError
from tortoise.context import TortoiseContext

from billing.cancellation import cancel_subscription
from billing.events import record_subscription_event
from core.email_outbox import branding_context, enqueue_email
from core.event_types import EventType
from gateway.settings import Settings
from gateway.worker import run_worker
from gateway.worker.mailer import compose_email
from gateway.worker.webhook_delivery import MAX_ATTEMPTS, RETRY_DELAYS, process_due_webhooks
from merchants.webhooks import WebhookEndpointError, create_endpoint, new_secret, replay_delivery, rotate_secret
from models import Business, EmailMessage, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.database import tortoise_config
from models.enums import DeliveryStatus, SubscriptionStatus
from tests.support.billing import FEATURES, Subscriber, billing_context, subscriber
from tests.support.cli import portal
from tests.support.portal import Mailbox
from tests.support.webhooks import Receiver


@pytest.fixture
def webhook_settings() -> Settings:
    return Settings(secret_key="test", run_worker_in_web=False, webhooks_allow_private=True)


@pytest.fixture
async def shop() -> Subscriber:
    return await subscriber(
        billing_context(),
        status=SubscriptionStatus.ACTIVE,
        cards=("pm_card_visa",),
        next_billing_date=datetime.now(UTC) + timedelta(days=20),
        livemode=False,
    )


async def _endpoint(shop: Subscriber, url: str, event_types: list[str] | None = None) -> tuple[WebhookEndpoint, str]:
    return await create_endpoint(
        shop.business, livemode=False, url=url, event_types=event_types or [], allow_private=True
    )


async def _event(shop: Subscriber) -> None:
    await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, shop.subscription)


async def test_a_cancellation_arrives_signed_in_dodos_envelope(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, secret = await _endpoint(shop, receiver.url)
    assert secret.startswith("whsec_")
    await cancel_subscription(
        shop.subscription, reason=None, comment=None, immediately=False, features=FEATURES, context=billing_context()
    )

    assert await process_due_webhooks(webhook_settings) == 1

    [request] = receiver.requests
    message = request.verified_with(secret)
    assert message["business_id"] == shop.business.id
    assert message["type"] == "subscription.updated"
    assert message["data"]["subscription_id"] == shop.subscription.id
    assert message["data"]["cancel_at_next_billing_date"] is True
    delivery = await WebhookDelivery.get(endpoint=endpoint)
    assert request.headers["webhook-id"] == delivery.id
    assert delivery.status == DeliveryStatus.SENT
    [attempt] = await WebhookAttempt.filter(delivery=delivery)
    assert (attempt.status_code, attempt.response_snippet, attempt.error) == (200, "", None)  # a private address
    with pytest.raises(WebhookVerificationError):
        request.verified_with(new_secret())


async def test_an_event_missed_while_the_receiver_was_down_arrives_after_the_retry(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, secret = await _endpoint(shop, receiver.url)
    await receiver.stop()
    await _event(shop)
    start = datetime.now(UTC)

    await process_due_webhooks(webhook_settings, now=start)
    assert await process_due_webhooks(webhook_settings, now=start + timedelta(seconds=4)) == 0
    await receiver.start()
    await process_due_webhooks(webhook_settings, now=start + RETRY_DELAYS[0])

    delivery = await WebhookDelivery.get(endpoint=endpoint)
    [request] = receiver.requests
    assert request.verified_with(secret)["type"] == "subscription.updated"
    assert request.headers["webhook-id"] == delivery.id
    attempts = await WebhookAttempt.filter(delivery=delivery).order_by("attempted_at")
    assert [a.status_code for a in attempts] == [None, 200]
    assert "ConnectError" in attempts[0].error
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2


async def test_a_failing_endpoint_is_retried_on_the_schedule_with_one_webhook_id_then_given_up(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    receiver.status = 500
    await _event(shop)
    now = datetime.now(UTC)
    await process_due_webhooks(webhook_settings, now=now)
    for delay in RETRY_DELAYS:
        assert await process_due_webhooks(webhook_settings, now=now + delay - timedelta(seconds=1)) == 0
        now += delay
        assert await process_due_webhooks(webhook_settings, now=now) == 1

    assert len(receiver.requests) == MAX_ATTEMPTS == 8
    delivery = await WebhookDelivery.get(endpoint=endpoint)
    assert {request.headers["webhook-id"] for request in receiver.requests} == {delivery.id}
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_status == 500
    assert await WebhookAttempt.filter(delivery=delivery, status_code=500).count() == MAX_ATTEMPTS
    assert await process_due_webhooks(webhook_settings, now=now + timedelta(days=1)) == 0


async def test_an_endpoint_failing_for_five_days_is_disabled_and_receives_nothing_more(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    receiver.status = 503
    now = datetime.now(UTC)
    await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=now - timedelta(days=5))
    await _event(shop)
    await process_due_webhooks(webhook_settings, now=now)
    await endpoint.refresh_from_db()
    assert endpoint.disabled and endpoint.disabled_at == now

    receiver.status = 200
    await _event(shop)
    await process_due_webhooks(webhook_settings, now=now + timedelta(hours=1))
    assert len(receiver.requests) == 1  # the failing attempt only: the retry and the new event are not sent
    assert await WebhookDelivery.filter(status=DeliveryStatus.SENT).count() == 0


async def test_the_business_is_emailed_when_its_endpoint_is_disabled(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    receiver.status = 500
    now = datetime.now(UTC)
    since = now - timedelta(days=5, minutes=1)
    await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=since)
    await _event(shop)

    await process_due_webhooks(webhook_settings, now=now)
    await process_due_webhooks(webhook_settings, now=now + RETRY_DELAYS[0])

    [message] = await EmailMessage.filter(template="webhook_endpoint_disabled")
    assert (message.to_email, message.business_id) == (shop.business.support_email, shop.business.id)
    assert message.context["endpoint_id"] == endpoint.id and message.context["endpoint_url"] == receiver.url
    assert message.context["failing_since"] == since.isoformat()
    mime = compose_email(message, webhook_settings)
    text = mime.get_body(("plain",)).get_content()
    assert mime["Subject"] == "Your webhook endpoint at Sakura Fonts was disabled"
    call = f'updateWebhookEndpoint(input: {{webhookEndpointId: "{endpoint.id}", disabled: false}})'
    assert receiver.url in text and call in text


async def test_an_endpoint_that_recovers_in_time_is_neither_disabled_nor_reported(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    now = datetime.now(UTC)
    await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=now - timedelta(days=4, hours=23))
    receiver.status = 500
    await _event(shop)
    await process_due_webhooks(webhook_settings, now=now)

    receiver.status = 200
    await process_due_webhooks(webhook_settings, now=now + RETRY_DELAYS[0])

    await endpoint.refresh_from_db()
    assert not endpoint.disabled and endpoint.failing_since is None
    assert await EmailMessage.filter(template="webhook_endpoint_disabled").count() == 0


async def test_a_success_ends_the_failing_streak(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    await WebhookEndpoint.filter(id=endpoint.id).update(failing_since=datetime.now(UTC) - timedelta(days=4))
    await _event(shop)
    await process_due_webhooks(webhook_settings)
    await endpoint.refresh_from_db()
    assert endpoint.failing_since is None and not endpoint.disabled


async def test_only_the_event_types_an_endpoint_asked_for_reach_it(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    other = Receiver()
    await other.start()
    try:
        await _endpoint(shop, receiver.url, ["payment.succeeded"])
        await _endpoint(shop, other.url, ["subscription.updated", "subscription.cancelled"])
        await _event(shop)
        await process_due_webhooks(webhook_settings)
    finally:
        await other.stop()
    assert receiver.requests == []
    assert [json.loads(r.body)["type"] for r in other.requests] == ["subscription.updated"]


async def test_an_unknown_event_type_is_refused(shop: Subscriber, receiver: Receiver) -> None:
    with pytest.raises(WebhookEndpointError, match="unknown event type payment.teleported"):
        await _endpoint(shop, receiver.url, ["payment.teleported"])
    assert await WebhookEndpoint.all().count() == 0


async def test_events_of_another_mode_or_business_do_not_reach_an_endpoint(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    await _endpoint(shop, receiver.url)
    other = await Business.create(name="Other", support_email="help@other.example")
    await create_endpoint(other, livemode=False, url=receiver.url, event_types=[], allow_private=True)
    await create_endpoint(shop.business, livemode=True, url=receiver.url, event_types=[], allow_private=True)
    await _event(shop)
    await process_due_webhooks(webhook_settings)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("url", "livemode", "reason"),
    [
        ("http://93.184.216.34/hooks", True, "must use https"),
        ("https://127.0.0.1/hooks", True, "non-public address"),
        ("https://10.1.2.3/hooks", True, "non-public address"),
        ("https://169.254.169.254/latest/meta-data", True, "non-public address"),
        ("https://[::1]/hooks", True, "non-public address"),
        ("https://localhost/hooks", True, "non-public address"),
        ("http://192.168.1.10/hooks", False, "non-public address"),
        ("https://[::ffff:127.0.0.1]/hooks", True, "non-public address"),
        ("https://100.100.100.200/latest/meta-data", True, "non-public address"),
        ("https://[2002:a9fe:a9fe::1]/latest/meta-data", True, "non-public address"),
        ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", True, "non-public address"),
        ("ftp://93.184.216.34/hooks", False, "absolute http"),
        ("https://user:pw@93.184.216.34/hooks", True, "credentials"),
    ],
)
async def test_the_portal_refuses_to_create_an_endpoint_it_must_not_call(
    shop: Subscriber, url: str, livemode: bool, reason: str
) -> None:
    with pytest.raises(WebhookEndpointError, match=reason):
        await create_endpoint(shop.business, livemode=livemode, url=url, event_types=[], allow_private=False)
    assert await WebhookEndpoint.all().count() == 0


async def test_a_public_https_endpoint_is_accepted_in_live_mode(shop: Subscriber) -> None:
    endpoint, _ = await create_endpoint(
        shop.business, livemode=True, url="https://93.184.216.34/hooks", event_types=[], allow_private=False
    )
    assert endpoint.livemode and endpoint.url == "https://93.184.216.34/hooks"


async def test_every_delivery_checks_the_address_again(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    # Created while private addresses were allowed (or while the name resolved elsewhere), sent now they are not.
    endpoint, _ = await _endpoint(shop, receiver.url)
    await _event(shop)
    await process_due_webhooks(dataclasses.replace(webhook_settings, webhooks_allow_private=False))

    assert receiver.requests == []
    delivery = await WebhookDelivery.get(endpoint=endpoint)
    [attempt] = await WebhookAttempt.filter(delivery=delivery)
    assert attempt.status_code is None and "non-public address (127.0.0.1)" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1


class RebindingDns:
    """A DNS server with a zero TTL playing DNS rebinding on `name`: the first lookup answers a public address, every
    later one 127.0.0.1. Installed as the event loop's resolver, which every lookup in the process goes through;
    the loop's connections to `port` are recorded, and one to the public address reaches the receiver, which plays
    the merchant's public server."""

    PUBLIC = "93.184.216.34"

    def __init__(self, name: str, port: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.name, self.port = name, port
        self.answers: list[str] = []
        self.connections: list[str] = []
        loop = asyncio.get_running_loop()
        self._getaddrinfo, self._create_connection = loop.getaddrinfo, loop.create_connection
        monkeypatch.setattr(loop, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(loop, "create_connection", self.create_connection)

    async def getaddrinfo(self, host: str | bytes, port: int, **kwargs: object) -> list:
        if (host.decode() if isinstance(host, bytes) else host) != self.name:
            return await self._getaddrinfo(host, port, **kwargs)
        self.answers.append(self.PUBLIC if not self.answers else "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.answers[-1], port))]

    async def create_connection(
        self, factory: object, host: str | None = None, port: int | None = None, **kwargs: object
    ) -> tuple:
        if port == self.port:
            self.connections.append(host)
        return await self._create_connection(factory, "127.0.0.1" if host == self.PUBLIC else host, port, **kwargs)


async def test_a_name_that_rebinds_to_loopback_after_the_check_is_still_sent_to_the_checked_address(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, secret = await _endpoint(shop, f"http://rebind.example:{receiver.port}/hooks")
    await _event(shop)
    dns = RebindingDns("rebind.example", receiver.port, monkeypatch)

    await process_due_webhooks(dataclasses.replace(webhook_settings, webhooks_allow_private=False))

    assert dns.answers == [dns.PUBLIC]  # looked up once: the address checked is the address used
    assert dns.connections == [dns.PUBLIC]
    [request] = receiver.requests
    assert request.headers["host"] == f"rebind.example:{receiver.port}"
    assert request.verified_with(secret)["type"] == "subscription.updated"
    delivery = await WebhookDelivery.get(endpoint=endpoint)
    [attempt] = await WebhookAttempt.filter(delivery=delivery)
    assert (delivery.status, attempt.status_code, attempt.response_snippet) == (DeliveryStatus.SENT, 200, "ok")


async def test_the_answer_of_a_private_address_is_not_stored(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    # Reachable only because private addresses are allowed (test mode, development): what a server inside the
    # network answers is never kept for a merchant to read.
    receiver.body = b'{"AccessKeyId": "ASIA..."}'
    endpoint, _ = await _endpoint(shop, receiver.url)
    await _event(shop)
    await process_due_webhooks(webhook_settings)

    delivery = await WebhookDelivery.get(endpoint=endpoint)
    [attempt] = await WebhookAttempt.filter(delivery=delivery)
    assert (delivery.status, attempt.status_code, attempt.response_snippet) == (DeliveryStatus.SENT, 200, "")


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    elsewhere = Receiver()
    await elsewhere.start()
    try:
        receiver.status, receiver.location = 307, elsewhere.url
        endpoint, _ = await _endpoint(shop, receiver.url)
        await _event(shop)
        await process_due_webhooks(webhook_settings)
    finally:
        await elsewhere.stop()
    assert len(receiver.requests) == 1 and elsewhere.requests == []
    delivery = await WebhookDelivery.get(endpoint=endpoint)
    assert (delivery.status, delivery.response_status, delivery.last_error) == (DeliveryStatus.PENDING, 307, "HTTP 307")


async def test_after_a_rotation_both_secrets_verify_for_a_day_then_only_the_new_one(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, old = await _endpoint(shop, receiver.url)
    new = await rotate_secret(endpoint)
    assert new.startswith("whsec_") and new != old
    await _event(shop)
    await process_due_webhooks(webhook_settings)
    assert receiver.requests[0].verified_with(old) == receiver.requests[0].verified_with(new)

    newest = await rotate_secret(endpoint, now=datetime.now(UTC) - timedelta(hours=24, seconds=1))
    await _event(shop)
    await process_due_webhooks(webhook_settings)
    assert receiver.requests[1].verified_with(newest)["type"] == "subscription.updated"
    with pytest.raises(WebhookVerificationError):
        receiver.requests[1].verified_with(new)


async def test_a_replay_sends_the_delivery_again_with_the_same_webhook_id(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, secret = await _endpoint(shop, receiver.url)
    await _event(shop)
    await process_due_webhooks(webhook_settings)
    delivery = await WebhookDelivery.get(endpoint=endpoint)

    await replay_delivery(delivery)
    await process_due_webhooks(webhook_settings)

    first, again = receiver.requests
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == delivery.id
    assert again.verified_with(secret) == first.verified_with(secret)
    assert await WebhookAttempt.filter(delivery=delivery, status_code=200).count() == 2


async def test_two_workers_at_once_deliver_each_event_once(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    await _endpoint(shop, receiver.url)
    for _ in range(3):
        await _event(shop)
    await asyncio.gather(*(process_due_webhooks(webhook_settings) for _ in range(2)))
    assert len(receiver.requests) == 3
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 3
    assert await WebhookAttempt.all().count() == 3


async def test_a_stopping_worker_hands_back_the_deliveries_it_has_not_started(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    await _endpoint(shop, receiver.url)
    for _ in range(3):
        await _event(shop)
    stop = asyncio.Event()
    stop.set()
    await process_due_webhooks(webhook_settings, stop=stop)
    assert receiver.requests == []
    # Another worker delivers them at once, not when the stopped worker's lease would have ended.
    await process_due_webhooks(webhook_settings)
    assert len(receiver.requests) == 3


async def test_a_disabled_endpoint_receives_nothing(
    shop: Subscriber, receiver: Receiver, webhook_settings: Settings
) -> None:
    endpoint, _ = await _endpoint(shop, receiver.url)
    await WebhookEndpoint.filter(id=endpoint.id).update(disabled=True)
    await _event(shop)
    assert await process_due_webhooks(webhook_settings) == 0
    assert receiver.requests == []
    assert await WebhookDelivery.all().count() == 0


async def test_the_cli_creates_lists_rotates_and_replays(
    migrated_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    url = migrated_database
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        business = await Business.create(name="Cli Shop", support_email="help@cli.example")

    def run(*args: str, allow_private: str = "true") -> subprocess.CompletedProcess:
        return portal("webhook", *args, database_url=url, cwd=tmp_path, PORTAL_WEBHOOKS_ALLOW_PRIVATE=allow_private)

    created = run(
        "create",
        f"--business={business.id}",
        "--mode=test",
        f"--url={receiver.url}",
        "--events=subscription.updated, payment.failed",
    )
    assert created.returncode == 0, created.stderr
    endpoint_id, secret = re.search(r"(whk_\S+)", created.stdout)[1], created.stdout.splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = run("list", "--business", business.id)
    assert f"{endpoint_id}  test  enabled  {receiver.url}  payment.failed,subscription.updated" in listed.stdout
    rotated = run("rotate", endpoint_id)
    assert rotated.returncode == 0 and rotated.stdout.splitlines()[-1].startswith("whsec_")
    assert rotated.stdout.splitlines()[-1] != secret

    refused = run("create", "--business", business.id, "--mode", "live", "--url", receiver.url, allow_private="")
    assert refused.returncode == 1 and "must use https" in refused.stderr and "Traceback" not in refused.stderr
    missing = run("replay", "whd_" + "x" * 60)
    assert missing.returncode == 1 and "no webhook delivery" in missing.stderr


async def test_an_endpoint_that_hangs_does_not_hold_up_email(
    shop: Subscriber, receiver: Receiver, portal_settings: Settings, mailbox: Mailbox
) -> None:
    receiver.hold = asyncio.Event()
    endpoint, _ = await _endpoint(shop, receiver.url)
    await _event(shop)
    stop = asyncio.Event()
    settings = dataclasses.replace(portal_settings, webhooks_allow_private=True, worker_poll_seconds=0.05)
    worker = asyncio.create_task(run_worker(settings, stop))
    try:
        while not receiver.requests:
            await asyncio.sleep(0.05)
        link = {"link": f"{settings.base_url}/session/cpl_x", "expires_at": "2030-01-01T00:00:00+00:00"}
        await enqueue_email(
            to_email="ada@example.com",
            template="sign_in",
            locale="en",
            business=None,
            livemode=False,
            context={**branding_context(None, "Portal", False), **link, "expires_minutes": 15},
            from_name="Portal",
            reply_to="",
        )
        for _ in range(100):
            if mailbox.messages:
                break
            await asyncio.sleep(0.05)
        assert len(mailbox.messages) == 1
        assert (await WebhookDelivery.get(endpoint=endpoint)).status == DeliveryStatus.PENDING  # still in flight
    finally:
        receiver.hold.set()
        stop.set()
        await asyncio.wait_for(worker, 20)
    assert (await WebhookDelivery.get(endpoint=endpoint)).status == DeliveryStatus.SENT
