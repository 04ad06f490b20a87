"""Prometheus metrics: never public by default (no `/metrics` on the portal's port without PORTAL_METRICS_TOKEN, and
then only to the token; PORTAL_METRICS_PORT serves them apart), requests counted by route template (never an id) and
status with their latency, GraphQL operations by name and outcome, charges and refunds by outcome, the queues' depth
and age measured at the scrape, webhook deliveries, billing runs and PDF renders; under `portal serve --workers N`
every process's counts summed through one fresh directory."""

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLError
from prometheus_client.parser import text_string_to_metric_families

from billing.document_store import RendererBusy
from billing.events import record_subscription_event
from billing.reactivation import reactivate
from billing.refunds import refund_payment
from core.clock import utcnow
from core.email_outbox import enqueue_email
from core.event_types import EventType
from gateway.app import create_app
from gateway.graphql import operations
from gateway.metrics import instruments
from gateway.metrics.multiprocess import ENVIRONMENT_VARIABLE, shared_metrics_directory
from gateway.pdf_rendering import RenderPool
from gateway.settings import Settings
from gateway.worker import _run_billing_safely
from gateway.worker.webhook_delivery import process_due_webhooks
from merchants.webhooks import create_endpoint
from models import EmailMessage
from tests.support.billing import FEATURES, subscriber
from tests.support.cli import PORTAL_COMMAND, portal_environment
from tests.support.databases import copy_sqlite, uses_postgres
from tests.support.factories import business_token
from tests.support.merchant import CREATE_PRODUCT, MONTHLY, Merchant
from tests.support.portal import free_port
from tests.support.webhooks import Receiver

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "metrics-token-for-tests"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=TOKEN)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    answer = await client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_without_a_token_there_is_no_metrics_address(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, metrics_token=""), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url) as http:
        metrics = await http.get("/metrics", headers=SCRAPE)
        missing = await http.get("/no-such-address", headers=SCRAPE)
    assert metrics.status_code == missing.status_code == 404
    assert metrics.json() == missing.json()
    assert "portal_http_requests_total" not in metrics.text


async def test_metrics_answer_only_to_the_token(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    right = await client.get("/metrics", headers={**SCRAPE, "Host": "10.0.0.7:8000"})  # a scraper asks by address
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "portal_" not in anonymous.text + wrong.text
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain; version=")
    assert right.headers["cache-control"] == "no-store"


async def test_requests_are_counted_by_route_template_and_status_never_by_address(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    answer = await client.get("/subscriptions/sub_SecretLookingId123")
    after = await scrape(client)
    route = "/subscriptions/{subscription_id}"
    status = str(answer.status_code)
    assert value(after, "portal_http_requests_total", method="GET", route=route, status=status) == (
        value(before, "portal_http_requests_total", method="GET", route=route, status=status) + 1
    )
    count = "portal_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route=route) == value(before, count, method="GET", route=route) + 1
    assert not any("sub_SecretLookingId123" in str(key) for key in after)
    await client.get("/no/such/address/cus_123")
    unmatched = await scrape(client)
    assert value(unmatched, "portal_http_requests_total", method="GET", route="unmatched", status="404") >= 1


async def test_graphql_operations_are_counted_by_name_and_outcome(client: httpx.AsyncClient, acme: Merchant) -> None:
    counter = "portal_graphql_operations_total"
    before = await scrape(client)
    await client.post(
        "/merchant/graphql", json={"query": "query Catalog { products { totalCount } }"}, headers=acme.live
    )
    await client.post("/merchant/graphql", json={"query": "{ products { totalCount } }"}, headers=acme.live)
    await client.post("/merchant/graphql", json={"query": "query Broken { nothingHere }"}, headers=acme.live)
    # A payload's UserErrors (a product without a name), though the operation itself ran fine.
    refused = {
        "query": "mutation Add" + CREATE_PRODUCT.strip().removeprefix("mutation"),
        "variables": {"input": {**MONTHLY, "name": "", "price": 100}},
    }
    answer = await client.post("/merchant/graphql", json=refused, headers=acme.live)
    assert "errors" not in answer.json() and answer.json()["data"]["createProduct"]["errors"]
    after = await scrape(client)

    def grew(operation: str, outcome: str) -> float:
        labels = {"schema": "merchant", "operation": operation, "outcome": outcome}
        return value(after, counter, **labels) - value(before, counter, **labels)

    assert grew("Catalog", "ok") == 1
    assert grew("anonymous", "ok") == 1
    assert grew("Broken", "user_error") == 1
    assert grew("Add", "user_error") == 1


async def test_charges_and_refunds_are_counted_by_outcome(client: httpx.AsyncClient, context) -> None:
    before = await scrape(client)
    shop = await subscriber(context)
    declined = shop.cards["pm_card_chargeDeclined"]
    await reactivate(shop.subscription, declined, client_key="no", features=FEATURES, context=context)
    paid = await reactivate(
        shop.subscription, shop.cards["pm_card_visa"], client_key="yes", features=FEATURES, context=context
    )
    await reactivate(
        shop.subscription, shop.cards["pm_card_visa"], client_key="yes", features=FEATURES, context=context
    )
    await refund_payment(paid, 100, "", client_key="r1", context=context)
    after = await scrape(client)

    def grew(name: str, outcome: str) -> float:
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    # The replayed request settled nothing: one success, one decline.
    assert (grew("portal_charges_total", "succeeded"), grew("portal_charges_total", "failed")) == (1, 1)
    assert grew("portal_refunds_total", "succeeded") == 1


async def test_the_queues_depth_and_age_are_measured_at_the_scrape(client: httpx.AsyncClient, count_statements) -> None:
    empty = await scrape(client)
    assert value(empty, "portal_outbox_pending") == 0 and value(empty, "portal_outbox_oldest_age_seconds") == 0
    for address in ("ada@example.com", "bob@example.com"):
        await enqueue_email(
            to_email=address,
            template="sign_in",
            locale="en",
            business=None,
            livemode=False,
            context={},
            from_name="P",
            reply_to="",
        )
    await EmailMessage.filter(to_email="ada@example.com").update(created_at=utcnow() - timedelta(minutes=10))
    with count_statements() as counter:
        queued = await scrape(client)
    assert value(queued, "portal_outbox_pending") == 2
    assert 600 <= value(queued, "portal_outbox_oldest_age_seconds") < 700
    assert value(queued, "portal_webhook_queue_pending") == 0
    assert counter.count == 2  # one query per queue, whatever its length


async def test_an_ordinary_request_costs_no_statement_for_metrics(
    client: httpx.AsyncClient, context, count_statements
) -> None:
    shop = await subscriber(context)
    client.cookies.set("portal_session", await business_token(shop.customer))
    await client.get("/subscriptions")
    with count_statements() as with_metrics:
        await client.get("/subscriptions")
    app = create_app(dataclasses.replace(client._transport.app.state.settings, metrics_token=""), manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=str(client.base_url)) as plain:
        plain.cookies.set("portal_session", client.cookies["portal_session"])
        with count_statements() as without:
            await plain.get("/subscriptions")
    assert with_metrics.count == without.count


async def test_webhook_deliveries_are_counted_by_outcome(
    client: httpx.AsyncClient, settings: Settings, context, receiver: Receiver
) -> None:
    shop = await subscriber(context)
    await create_endpoint(
        shop.business, livemode=shop.subscription.livemode, url=receiver.url, event_types=[], allow_private=True
    )
    sending = dataclasses.replace(settings, webhooks_allow_private=True)
    before = await scrape(client)
    await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, shop.subscription)
    await process_due_webhooks(sending)
    receiver.status = 500
    await record_subscription_event(EventType.SUBSCRIPTION_UPDATED, shop.subscription)
    await process_due_webhooks(sending)
    after = await scrape(client)

    def grew(outcome: str) -> float:
        name = "portal_webhook_deliveries_total"
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    assert (grew("delivered"), grew("failed")) == (1, 1)
    assert value(after, "portal_webhook_queue_pending") == 1  # the failed one waits for its retry


async def test_billing_runs_are_timed_and_pdf_renders_counted(client: httpx.AsyncClient, context, settings) -> None:
    before = await scrape(client)
    await _run_billing_safely(context)
    pool = RenderPool(settings)
    pool.in_flight = pool.limit
    with pytest.raises(RendererBusy):
        await pool(None, "en")  # refused before any rendering
    after = await scrape(client)
    runs = "portal_billing_run_duration_seconds_count"
    assert value(after, runs) == value(before, runs) + 1
    busy = "portal_pdf_renders_total"
    assert value(after, busy, outcome="busy") == value(before, busy, outcome="busy") + 1


@pytest.fixture
async def served_metrics_port(settings: Settings) -> AsyncIterator[tuple[int, Settings]]:
    port = free_port()
    apart = dataclasses.replace(settings, host="127.0.0.1", metrics_port=port, metrics_token="")
    app = create_app(apart, manage_database=False)
    async with app.router.lifespan_context(app):
        yield port, apart


async def test_the_metrics_port_serves_metrics_apart_from_the_portal(
    served_metrics_port: tuple[int, Settings],
) -> None:
    port, _ = served_metrics_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        metrics = await http.get("/metrics")
        other = await http.get("/login")
    assert metrics.status_code == 200 and "portal_http_requests_total" in metrics.text
    assert other.status_code == 404


RECORD_ONE_REQUEST = """
from gateway.metrics.instruments import observe_request
observe_request("GET", "/healthz", 200, 0.01)
"""
SCRAPE_ALL = """
import asyncio
from gateway.metrics.exposition import render_metrics
from gateway.settings import Settings
print(asyncio.run(render_metrics(Settings.from_env())).decode())
"""


def test_several_processes_count_into_one_scrape(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by an earlier run")
    settings = Settings(secret_key="x", metrics_multiprocess_dir=str(directory))
    with shared_metrics_directory(settings) as shared:
        assert shared == directory and os.environ[ENVIRONMENT_VARIABLE] == str(directory)
        assert not list(directory.glob("*.db"))  # a fresh start
        environment = {**os.environ, "PYTHONPATH": str(ROOT), "PORTAL_SECRET_KEY": "x"}
        for _ in range(2):
            subprocess.run([sys.executable, "-c", RECORD_ONE_REQUEST], env=environment, cwd=tmp_path, check=True)
        scraped = subprocess.run(
            [sys.executable, "-c", SCRAPE_ALL],
            env=environment,
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    os.environ.pop(ENVIRONMENT_VARIABLE)
    assert 'portal_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in scraped


@pytest.mark.skipif(not uses_postgres(), reason="several workers need PostgreSQL")
def test_serve_with_two_workers_sums_both_processes_in_every_scrape(migrated_database: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    environment = portal_environment(DATABASE_URL=migrated_database, PORTAL_SECRET_KEY="x", PORTAL_METRICS_TOKEN=TOKEN)
    with log.open("w") as output:
        server = subprocess.Popen(
            [*PORTAL_COMMAND, "serve", "--workers", "2", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stderr=output,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                try:
                    http.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            for _ in range(20):
                assert http.get("/healthz").status_code == 200
            scrapes = [http.get("/metrics", headers=SCRAPE).text for _ in range(6)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    counted = 'portal_http_requests_total{method="GET",route="/healthz",status="200"} 20.0'
    # Whichever process answered the scrape, it counted the other's requests too.
    assert all(counted in scrape for scrape in scrapes), scrapes[0]


def test_a_worker_serves_its_metrics_on_the_metrics_port(tmp_path: Path, migrated_sqlite_template: Path) -> None:
    database, port = tmp_path / "portal.db", free_port()
    copy_sqlite(migrated_sqlite_template, database)
    environment = portal_environment(
        DATABASE_URL=f"sqlite://{database}", PORTAL_SECRET_KEY="x", PORTAL_METRICS_PORT=str(port)
    )
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen([*PORTAL_COMMAND, "worker"], cwd=tmp_path, env=environment, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            if "portal_billing_run_duration_seconds_count 1.0" in scraped:
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert worker.returncode == 0, log.read_text()
    assert "portal_outbox_pending 0.0" in scraped and "process_resident_memory_bytes" in scraped


def test_serve_makes_a_fresh_directory_and_removes_it_afterwards() -> None:
    with shared_metrics_directory(Settings(secret_key="x")) as made:
        assert made.is_dir() and os.environ[ENVIRONMENT_VARIABLE] == str(made)
    os.environ.pop(ENVIRONMENT_VARIABLE)
    assert not made.exists()


async def test_metrics_answer_while_the_scrape_counts_itself(client: httpx.AsyncClient) -> None:
    await asyncio.gather(scrape(client), scrape(client))
    samples = await scrape(client)
    assert value(samples, "portal_http_requests_total", method="GET", route="/metrics", status="200") >= 2


@pytest.mark.parametrize(
    ("query", "requested", "name"),
    [
        ("query Catalog { products { totalCount } }", None, "Catalog"),
        ("# a comment naming query Wrong\nmutation Add($x: Int) { a }", None, "Add"),
        ("fragment F on Product { id } query WithFragment { products { ...F } }", None, "WithFragment"),
        ("{ viewer { email } }", None, None),
        ("query { viewer { email } }", None, None),
        ("query Broken {", None, "Broken"),
        ('query "not a name" {', None, None),
        ("query One { a } query Two { b }", "Two", "Two"),
        (None, None, None),
    ],
)
def test_an_operation_is_named_by_its_request_or_its_document(query, requested, name) -> None:
    assert operations.operation_name(query, requested) == name


def test_an_operations_outcome() -> None:
    masked = GraphQLError("Unexpected error.", extensions={"code": "INTERNAL_SERVER_ERROR"})
    refused = GraphQLError("Cannot query field.", extensions={"code": "GRAPHQL_VALIDATION_FAILED"})
    assert operations.outcome(None, {"viewer": {"email": "a@example.com"}}) == "ok"
    assert operations.outcome(None, {"cancel": {"subscription": None, "errors": [{"code": "NOT_ALLOWED"}]}}) == (
        "user_error"
    )
    assert operations.outcome([refused], None) == "user_error"
    assert operations.outcome([refused, masked], {"viewer": None}) == "error"


def test_graphql_operation_names_are_bounded() -> None:
    assert instruments.operation_label(None) == "anonymous"
    assert instruments.operation_label("x" * 65) == "other"
    assert instruments.operation_label("not a name") == "other"
