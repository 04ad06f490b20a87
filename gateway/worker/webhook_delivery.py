"""Sending webhook deliveries to the Standard Webhooks specification: Dodo's envelope `{business_id, type,
timestamp, data}` as JSON, signed with `standardwebhooks` under the delivery's id as `webhook-id` (the same on every
attempt, so receivers can drop duplicates), retried on a schedule, every attempt recorded.

A worker claims a due delivery with a conditional UPDATE (only the worker whose UPDATE still finds it due gets it)
that pushes `next_attempt_at` a lease ahead, then sends outside any transaction, several at once up to CONCURRENCY,
through gateway/worker/webhook_transport.py, which connects only to addresses it has checked (no DNS rebinding).
It runs as its own loop beside the email outbox (gateway/worker/), so a slow endpoint never holds up email.
"""

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from standardwebhooks import Webhook

from core.clock import utcnow
from gateway.metrics.instruments import count_webhook_delivery
from gateway.settings import Settings
from gateway.worker.heartbeat import Heartbeat
from gateway.worker.own_task import in_own_task
from gateway.worker.webhook_transport import PinnedTransport
from merchants.webhooks import (
    WebhookEndpointError,
    check_url,
    disable_failing_endpoint,
    fan_out_events,
    signing_secrets,
)
from models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.enums import DeliveryStatus
from models.leases import hand_back

logger = logging.getLogger(__name__)

# The wait after the 1st, 2nd, … failed attempt; one more failure than there are delays and the delivery has failed.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT_SECONDS = 15.0
CONCURRENCY = 10
BATCH_SIZE = 50
# Longer than one attempt may take (the timeout), so a live worker's claim never lapses mid-send.
CLAIM_LEASE = timedelta(minutes=1)
# An endpoint that has failed every attempt for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
SNIPPET_LENGTH = 500


def envelope(event: Event) -> dict:
    return {
        "business_id": event.business_id,
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": event.data,
    }


def signed_headers(msg_id: str, secrets: list[str], payload: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks' headers; during a rotation one signature per secret, space-separated."""
    signatures = " ".join(Webhook(secret).sign(msg_id, now, payload) for secret in secrets)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    snippet: str = ""
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim_due_deliveries(now: datetime) -> list[WebhookDelivery]:
    """Take up to a batch of due pending deliveries; another worker's UPDATE no longer finds them due."""
    candidates = (
        await WebhookDelivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .limit(BATCH_SIZE)
        .values_list("id", flat=True)
    )
    claimed = [
        delivery_id
        for delivery_id in candidates
        if await WebhookDelivery.filter(id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=now + CLAIM_LEASE
        )
    ]
    if not claimed:
        return []
    return await WebhookDelivery.filter(id__in=claimed).select_related("endpoint", "event")


async def _post(delivery: WebhookDelivery, http: httpx.AsyncClient, settings: Settings, now: datetime) -> Outcome:
    endpoint, event = delivery.endpoint, delivery.event
    try:
        # The URL's form here; its addresses in the transport, which connects to no other.
        check_url(endpoint.url, livemode=endpoint.livemode, allow_private=settings.webhooks_allow_private)
        payload = json.dumps(envelope(event), separators=(",", ":"))
        headers = signed_headers(delivery.id, signing_secrets(endpoint, now), payload, now)
        response = await http.post(endpoint.url, content=payload, headers=headers, timeout=TIMEOUT_SECONDS)
    except WebhookEndpointError as error:
        return Outcome(error=f"refused: {error.message}")
    except Exception as error:  # noqa: BLE001 -- any failure of one attempt is recorded and retried
        return Outcome(error=f"{type(error).__name__}: {error}"[:1000])
    return Outcome(status_code=response.status_code, snippet=response.text[:SNIPPET_LENGTH])


async def _record(
    delivery: WebhookDelivery, outcome: Outcome, duration_ms: int, now: datetime, settings: Settings
) -> None:
    await WebhookAttempt.create(
        delivery=delivery,
        status_code=outcome.status_code,
        duration_ms=duration_ms,
        response_snippet=outcome.snippet,
        error=outcome.error,
        attempted_at=now,
    )
    attempts = delivery.attempts + 1
    if outcome.delivered:
        await WebhookDelivery.filter(id=delivery.id).update(
            status=DeliveryStatus.SENT,
            attempts=attempts,
            delivered_at=now,
            response_status=outcome.status_code,
            last_error=None,
        )
        await WebhookEndpoint.filter(id=delivery.endpoint_id).update(failing_since=None)
        return
    failed = attempts >= MAX_ATTEMPTS
    await WebhookDelivery.filter(id=delivery.id).update(
        status=DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now if failed else now + RETRY_DELAYS[attempts - 1],
        response_status=outcome.status_code,
        last_error=outcome.error or f"HTTP {outcome.status_code}",
    )
    await _note_failure(delivery.endpoint, now, settings)


async def _note_failure(endpoint: WebhookEndpoint, now: datetime, settings: Settings) -> None:
    """Start the endpoint's failing streak, or disable it (and tell the business) once it has lasted DISABLE_AFTER."""
    await WebhookEndpoint.filter(id=endpoint.id, failing_since__isnull=True).update(failing_since=now)
    if await disable_failing_endpoint(endpoint.id, now, failing_for=DISABLE_AFTER, portal_name=settings.portal_name):
        logger.warning("Webhook endpoint %s has failed for %s and is now disabled", endpoint.id, DISABLE_AFTER)


async def deliver(delivery: WebhookDelivery, http: httpx.AsyncClient, settings: Settings, now: datetime) -> bool:
    """One attempt of a claimed delivery, recorded; True when the endpoint answered 2xx."""
    if delivery.endpoint.disabled:
        await WebhookDelivery.filter(id=delivery.id).update(
            status=DeliveryStatus.FAILED, last_error="endpoint disabled"
        )
        count_webhook_delivery("endpoint_disabled")
        return False
    started = time.monotonic()
    outcome = await _post(delivery, http, settings, now)
    await _record(delivery, outcome, round((time.monotonic() - started) * 1000), now, settings)
    count_webhook_delivery("delivered" if outcome.delivered else "failed")
    return outcome.delivered


async def process_due_webhooks(
    settings: Settings, now: datetime | None = None, stop: asyncio.Event | None = None
) -> int:
    """One pass: fan new events out into deliveries, then attempt every due delivery, CONCURRENCY at a time (once
    `stop` is set, the ones not yet started are handed back to the other workers); returns how many deliveries were
    claimed."""
    now = now or utcnow()
    await fan_out_events(now)
    deliveries = await claim_due_deliveries(now)
    if not deliveries:
        return 0
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def attempt(delivery: WebhookDelivery, client: httpx.AsyncClient) -> None:
        async with semaphore:
            if stop is not None and stop.is_set():
                await hand_back([delivery], {"next_attempt_at": now})
            else:
                await deliver(delivery, client, settings, now)

    # A redirect is a failed attempt, not followed. trust_env=False: a proxy from the environment would be a way out
    # that the pinned transport does not check.
    transport = PinnedTransport(allow_private=settings.webhooks_allow_private)
    async with httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False) as client:
        await asyncio.gather(*(attempt(delivery, client) for delivery in deliveries))
    return len(deliveries)


async def run_webhook_loop(settings: Settings, stop: asyncio.Event, heartbeat: Heartbeat | None = None) -> None:
    """Pass over the deliveries every `worker_poll_seconds` until `stop` is set (a full batch is followed at once),
    stamping the worker's `heartbeat` at every pass."""
    while not stop.is_set():
        if heartbeat is not None:
            await heartbeat()
        try:
            attempted = await in_own_task(process_due_webhooks(settings, stop=stop))
        except Exception:
            logger.exception("Webhook pass failed; trying again shortly")
            attempted = 0
        if attempted < BATCH_SIZE:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)
