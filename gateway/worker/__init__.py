"""The worker: sends the emails that are due (retrying failures with exponential backoff), delivers webhooks in a
loop of its own (gateway/worker/webhook_delivery.py, so a slow endpoint never holds up email), runs the billing run
every PORTAL_BILLING_INTERVAL_SECONDS (renewals, trial ends, period-end cancellations, expiries), handles the events
businesses' Stripe accounts sent (billing.stripe_events) and renders the billing PDFs owed since their documents were
issued (billing.document_store, in the render pool) at every pass and, every
DOMAIN_CHECK_SECONDS, looks for the TXT records of pending custom domains that are due a check and drops the claims
that expired (merchants.domain_verification). Both of its loops stamp its heartbeat (gateway/worker/heartbeat.py),
which `/readyz` looks at. It runs either inside the web process (PORTAL_WORKER_IN_WEB) or as
its own process (`portal worker`).

Several workers may run side by side. A worker claims due rows in a short transaction (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL; SQLite has one writer and runs it plainly) by pushing their `next_attempt_at` a lease into
the future, then sends outside the transaction, so no lock is held while an SMTP server answers and a worker that
dies mid-send only delays its rows by the lease.
"""

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from datetime import datetime, timedelta

from billing.billing_run import run_billing
from billing.context import BillingContext
from billing.document_store import RENDER_BATCH, Renderer, render_due
from billing.stripe_events import BATCH_SIZE as STRIPE_BATCH_SIZE
from billing.stripe_events import handle_stripe_events
from core.clock import utcnow
from gateway.metrics.exposition import metrics_listener
from gateway.metrics.instruments import observe_billing_run, watch_domain_outcomes
from gateway.payments import build_billing_context
from gateway.pdf_rendering import RenderPool, close_pools
from gateway.settings import Settings
from gateway.worker.heartbeat import Heartbeat
from gateway.worker.mailer import send_email
from gateway.worker.own_task import in_own_task
from gateway.worker.webhook_delivery import run_webhook_loop
from merchants.domain_verification import TxtLookup, check_due_claims, dns_txt_lookup
from models import EmailMessage
from models.enums import DeliveryStatus
from models.leases import hand_back, lease_due

logger = logging.getLogger(__name__)

# The wait after the 1st, 2nd, … failed attempt; one more failure than there are delays and the email has failed.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
BATCH_SIZE = 20
# Longer than one send may take (the SMTP timeout), so a live worker's claim never lapses mid-send.
CLAIM_LEASE = timedelta(minutes=2)
# Often enough for the every-minute checks of a new custom domain claim.
DOMAIN_CHECK_SECONDS = 30.0


async def claim_due_emails(now: datetime) -> list[EmailMessage]:
    """Take up to a batch of due pending emails for this worker; other workers skip them until the lease ends."""
    return await lease_due(
        EmailMessage.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now),
        order_by=("next_attempt_at", "id"),
        limit=BATCH_SIZE,
        lease={"next_attempt_at": now + CLAIM_LEASE},
    )


async def _record_success(message: EmailMessage, now: datetime) -> None:
    # A sent email has no further use for its context, let alone for the sign-in link or code sealed beside it.
    await EmailMessage.filter(id=message.id).update(
        status=DeliveryStatus.SENT,
        sent_at=now,
        attempts=message.attempts + 1,
        context={},
        sealed_context=None,
        last_error=None,
    )


async def _record_failure(message: EmailMessage, error: Exception, now: datetime) -> None:
    attempts = message.attempts + 1
    failed = attempts >= MAX_ATTEMPTS
    # An email that will never go out keeps its context (to see what failed) but not the link or code it carried.
    sealed = {"sealed_context": None} if failed else {}
    await EmailMessage.filter(id=message.id).update(
        status=DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=now if failed else now + RETRY_DELAYS[attempts - 1],
        last_error=f"{type(error).__name__}: {error}"[:1000],
        **sealed,
    )
    logger.warning(
        "Email %s (%s) attempt %d/%d failed%s: %s",
        message.id,
        message.template,
        attempts,
        MAX_ATTEMPTS,
        ", giving up" if failed else "",
        type(error).__name__,
    )


async def process_due_emails(settings: Settings, now: datetime | None = None, stop: asyncio.Event | None = None) -> int:
    """One pass over the outbox: send every email due at `now`, or, once `stop` is set, hand the ones not yet sent
    back to the other workers; returns how many were sent."""
    now = now or utcnow()
    sent = 0
    messages = await claim_due_emails(now)
    for position, message in enumerate(messages):
        if stop is not None and stop.is_set():
            await hand_back(messages[position:], {"next_attempt_at": now})
            break
        try:
            await send_email(message, settings)
        except Exception as error:  # noqa: BLE001 -- any failure of one email is retried; the others still go
            await _record_failure(message, error, now)
        else:
            await _record_success(message, now)
            sent += 1
    return sent


async def _run_billing_safely(billing: BillingContext) -> None:
    started = time.monotonic()
    try:
        report = await in_own_task(run_billing(billing))
    except Exception:
        logger.exception("Billing run failed; trying again at the next interval")
    else:
        observe_billing_run(time.monotonic() - started, dataclasses.asdict(report))


async def _handle_stripe_events_safely(billing: BillingContext) -> int:
    try:
        return await in_own_task(handle_stripe_events(billing))
    except Exception:
        logger.exception("Stripe events pass failed; trying again shortly")
        return 0


async def _check_domains_safely(txt_lookup: TxtLookup) -> None:
    try:
        await in_own_task(check_due_claims(txt_lookup))
    except Exception:
        logger.exception("Custom domain checks failed; trying again at the next interval")


async def _render_documents_safely(renderer: Renderer) -> int:
    try:
        return await in_own_task(render_due(renderer, utcnow()))
    except Exception:
        logger.exception("Document rendering pass failed; trying again shortly")
        return 0


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    txt_lookup: TxtLookup = dns_txt_lookup,
    renderer: Renderer | None = None,
) -> None:
    """Pass over the outbox every `worker_poll_seconds` until `stop` is set (a full batch is followed at once), run
    the billing run every `billing_interval_seconds` and the custom domain checks every DOMAIN_CHECK_SECONDS;
    webhooks go out meanwhile in their own task. PDFs render with `renderer`, the web app's pool when the worker
    runs inside it."""
    logger.info("Worker started")
    renderer = renderer or RenderPool(settings)
    heartbeat = Heartbeat(settings.worker_poll_seconds)
    await heartbeat.start()
    webhooks = asyncio.create_task(run_webhook_loop(settings, stop, heartbeat))
    try:
        billing = build_billing_context(settings)
        next_billing_run = next_domain_checks = 0.0
        while not stop.is_set():
            await heartbeat()
            if time.monotonic() >= next_billing_run:
                await _run_billing_safely(billing)
                next_billing_run = time.monotonic() + settings.billing_interval_seconds
            if time.monotonic() >= next_domain_checks:
                await _check_domains_safely(txt_lookup)
                next_domain_checks = time.monotonic() + DOMAIN_CHECK_SECONDS
            handled = await _handle_stripe_events_safely(billing)
            rendered = await _render_documents_safely(renderer)
            try:
                sent = await in_own_task(process_due_emails(settings, stop=stop))
            except Exception:
                logger.exception("Outbox pass failed; trying again shortly")
                sent = 0
            if sent < BATCH_SIZE and handled < STRIPE_BATCH_SIZE and rendered < RENDER_BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)
        await webhooks
    finally:
        # Cancelled with the worker (the web process stopping), the webhook loop must not outlive it.
        webhooks.cancel()
    logger.info("Worker stopped")


async def run_worker_process(settings: Settings) -> None:
    """The `portal worker` process: run until SIGINT or SIGTERM, finishing the email in hand; its metrics on
    PORTAL_METRICS_PORT, when set."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watch_domain_outcomes()
    try:
        async with metrics_listener(settings):
            await run_worker(settings, stop)
    finally:
        close_pools()
