"""`/healthz` says the process answers and touches nothing; `/readyz` says whether it can serve: the database
answers, it is migrated as far as the code expects, and (when separate workers are expected) a worker stamped its
heartbeat lately. Both answer on any host without a tenant lookup and are never cached; a failure is a 503 naming
what failed. docker-compose.yml and the Dockerfile ask them."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from tortoise import connections
from tortoise.context import TortoiseContext

from core.clock import utcnow
from gateway.app import create_app
from gateway.settings import Settings
from gateway.worker import run_worker
from gateway.worker.heartbeat import Heartbeat, stale_after
from models import WorkerHeartbeat
from models.database import tortoise_config
from models.schema_version import shipped_migrations

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def on_migrated(migrated_database: str) -> AsyncIterator[None]:
    """The requests inside the test use a freshly migrated database (the session's test database was built
    straight from the models, with no record of migrations)."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        yield


async def test_healthz_answers_ok_without_touching_the_database(client: httpx.AsyncClient, count_statements) -> None:
    with count_statements() as counter:
        answer = await client.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")
    assert answer.headers["cache-control"] == "no-store"
    assert counter.count == 0


async def test_the_probes_answer_on_any_host_without_a_tenant_lookup(
    client: httpx.AsyncClient, count_statements, on_migrated: None
) -> None:
    with count_statements() as counter:
        health = await client.get("/healthz", headers={"Host": "10.1.2.3:8000"})
    ready = await client.get("/readyz", headers={"Host": "internal-lb.cluster.local"})
    page = await client.get("/login", headers={"Host": "internal-lb.cluster.local"})
    assert health.status_code == 200 and counter.count == 0
    assert ready.status_code == 200, ready.text
    assert page.status_code == 400  # everything else still needs a host the portal serves


async def test_readyz_on_a_migrated_database_is_ok(client: httpx.AsyncClient, on_migrated: None) -> None:
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"status": "ok", "failed": [], "checks": {"database": "ok", "migrations": "ok"}}


async def test_readyz_names_a_database_that_was_never_migrated(client: httpx.AsyncClient) -> None:
    # The session's database has the tables (generate_schemas) but no record of `portal migrate`.
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "unavailable" and body["failed"] == ["migrations"]
    assert body["checks"] == {"database": "ok", "migrations": "not migrated: run `portal migrate`"}


async def test_readyz_names_the_migrations_not_applied(client: httpx.AsyncClient, on_migrated: None) -> None:
    newest = max(shipped_migrations())
    await connections.get("default").execute_script(f"DELETE FROM tortoise_migrations WHERE name = '{newest}'")
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["migrations"] == f"not applied: {newest}"


async def test_readyz_names_an_unreachable_database_quickly(client: httpx.AsyncClient) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config("postgres://portal@127.0.0.1:1/portal"))
        answer = await asyncio.wait_for(client.get("/readyz"), 10)
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["database"] and body["checks"]["database"].startswith("unreachable (")
    assert "127.0.0.1" not in answer.text and "portal@" not in answer.text


@pytest.fixture
def worker_expected(settings: Settings) -> Settings:
    return dataclasses.replace(settings, ready_requires_worker=True)


@pytest.fixture
async def separate_workers_client(worker_expected: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(worker_expected, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=worker_expected.base_url) as http:
        yield http


async def test_readyz_without_any_worker_heartbeat_is_not_ready_when_workers_are_expected(
    separate_workers_client: httpx.AsyncClient, on_migrated: None
) -> None:
    answer = await separate_workers_client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["worker"]
    assert answer.json()["checks"]["worker"] == "no worker heartbeat yet"


async def test_a_fresh_heartbeat_makes_ready_and_a_stale_one_does_not(
    separate_workers_client: httpx.AsyncClient, worker_expected: Settings, on_migrated: None
) -> None:
    heartbeat = Heartbeat(worker_expected.worker_poll_seconds)
    await heartbeat.start()
    fresh = await separate_workers_client.get("/readyz")
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["checks"]["worker"] == "ok"

    bound = stale_after(worker_expected.worker_poll_seconds)
    await WorkerHeartbeat.filter(id=heartbeat.worker_id).update(beaten_at=utcnow() - bound - timedelta(seconds=5))
    stale = await separate_workers_client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["checks"]["worker"].startswith("newest worker heartbeat ")


async def test_a_heartbeat_is_written_at_most_once_per_interval(count_statements) -> None:
    heartbeat = Heartbeat(poll_seconds=1.0)
    await heartbeat()
    with count_statements() as counter:
        for _ in range(5):
            await heartbeat()
    assert counter.count == 0
    assert await WorkerHeartbeat.filter(id=heartbeat.worker_id).count() == 1


async def test_a_running_worker_stamps_its_heartbeat(settings: Settings) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(dataclasses.replace(settings, worker_poll_seconds=0.05), stop))
    try:
        for _ in range(100):
            if await WorkerHeartbeat.exists():
                break
            await asyncio.sleep(0.05)
        [stamp] = await WorkerHeartbeat.all()
        assert utcnow() - stamp.beaten_at < timedelta(seconds=30)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)


def test_readiness_asks_for_a_worker_when_the_worker_runs_apart(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # the secret key file lands here
    monkeypatch.delenv("PORTAL_READY_REQUIRES_WORKER", raising=False)
    monkeypatch.delenv("PORTAL_WORKER_IN_WEB", raising=False)
    assert Settings.from_env().ready_requires_worker is False
    monkeypatch.setenv("PORTAL_WORKER_IN_WEB", "false")
    assert Settings.from_env().ready_requires_worker is True
    monkeypatch.setenv("PORTAL_READY_REQUIRES_WORKER", "false")
    assert Settings.from_env().ready_requires_worker is False


def test_compose_and_the_image_check_health_and_readiness() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    # The web is ready only with a worker running: a worker waiting for a ready web would wait forever.
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_started"
    assert services["worker"]["healthcheck"] == {"disable": True}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
