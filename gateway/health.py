"""The probes an orchestrator asks: `GET /healthz`, the process answers (it touches nothing, the database least of
all, so a database outage never gets healthy processes restarted), and `GET /readyz`, this process can serve: the
database answers, it is migrated as far as this code expects (models.schema_version) and, where separate workers are
expected (PORTAL_READY_REQUIRES_WORKER), some worker stamped its heartbeat lately (gateway.worker.heartbeat).

Not ready is a 503 whose JSON body names what failed, `{"status": "unavailable", "failed": ["migrations"],
"checks": {"database": "ok", "migrations": "not applied: 0016_worker_heartbeats"}}`; ready is a 200 of the same
shape. Both answer on any host (gateway.http.hosts lets them through without a tenant lookup), are never cached, and
stay out of the request log at INFO (gateway.http.access_log); a change of readiness is logged once.
"""

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise import connections

from core.clock import utcnow
from gateway.settings import Settings
from gateway.worker.heartbeat import stale_after
from models.schema_version import unapplied_migrations
from models.workers import newest_beat

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
PROBE_PATHS = frozenset({HEALTH_PATH, READY_PATH})
OK = "ok"
# A database that takes longer than this to answer a probe is as good as gone for the requests behind it.
CHECK_TIMEOUT_SECONDS = 3.0
NO_STORE = {"Cache-Control": "no-store"}


async def _database_check() -> str:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as error:  # noqa: BLE001 -- whatever the driver raises, the database does not answer
        # The class of the error only: its text can name hosts and users.
        return f"unreachable ({type(error).__name__})"
    return OK


async def _migrations_check() -> str:
    try:
        missing = await unapplied_migrations(connections.get("default"))
    except Exception:  # noqa: BLE001 -- no bookkeeping table: never migrated
        return "not migrated: run `portal migrate`"
    return f"not applied: {', '.join(missing)}" if missing else OK


async def _worker_check(settings: Settings) -> str:
    bound = stale_after(settings.worker_poll_seconds)
    try:
        newest = await newest_beat()
    except Exception as error:  # noqa: BLE001 -- reported as the check's failure, not the probe's
        return f"heartbeats unreadable ({type(error).__name__})"
    if newest is None:
        return "no worker heartbeat yet"
    age = utcnow() - newest
    if age > bound:
        return f"newest worker heartbeat {age.total_seconds():.0f} s old (more than {bound.total_seconds():.0f} s)"
    return OK


async def readiness(settings: Settings) -> dict[str, str]:
    """Each check's name and result (`ok`, or what is wrong); the later checks only when the database answers."""
    checks = {"database": await _database_check()}
    if checks["database"] != OK:
        return checks
    checks["migrations"] = await _migrations_check()
    if settings.ready_requires_worker:
        checks["worker"] = await _worker_check(settings)
    return checks


class ReadinessProbe:
    """`/readyz` of one process, which remembers what failed last time to log changes only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.failed: list[str] = []

    async def respond(self, request: Request) -> Response:
        try:
            checks = await asyncio.wait_for(readiness(self.settings), CHECK_TIMEOUT_SECONDS)
        except TimeoutError:
            checks = {"database": f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"}
        failed = [name for name, result in checks.items() if result != OK]
        self._log_change(failed, checks)
        body = {"status": "unavailable" if failed else OK, "failed": failed, "checks": checks}
        return JSONResponse(body, status_code=503 if failed else 200, headers=NO_STORE)

    def _log_change(self, failed: list[str], checks: dict[str, str]) -> None:
        if failed and failed != self.failed:
            logger.warning("Not ready: %s", "; ".join(f"{name}: {checks[name]}" for name in failed))
        elif self.failed and not failed:
            logger.info("Ready again")
        self.failed = failed


async def health(request: Request) -> Response:
    return PlainTextResponse(OK, headers=NO_STORE)


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route(HEALTH_PATH, health, methods=["GET"]),
        Route(READY_PATH, ReadinessProbe(settings).respond, methods=["GET"]),
    ]
