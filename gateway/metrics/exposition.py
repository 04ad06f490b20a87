"""Answering a Prometheus scrape, never publicly by default: at `/metrics` on the portal's own port only when
PORTAL_METRICS_TOKEN is set (then with `Authorization: Bearer <token>`; unset, there is no such address and it
answers 404), and on PORTAL_METRICS_PORT when that is set (a listener of its own, on PORTAL_HOST, which asks for the
token too when there is one). `portal worker` has no web port: its metrics are on PORTAL_METRICS_PORT only.

Under `portal serve --workers N` every process counts into the shared directory of prometheus-client's
multiprocess mode (gateway.metrics.multiprocess) and a scrape, whichever process answers it, sums all of them; the
metrics listener of each process shares the port (SO_REUSEPORT). The queues' gauges are measured at the scrape.
"""

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from core.clock import utcnow
from gateway.metrics.queues import Measured, queue_metrics
from gateway.settings import Settings

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
NO_STORE = {"Cache-Control": "no-store"}


def _process_registry(settings: Settings) -> CollectorRegistry:
    if not settings.metrics_multiprocess_dir:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=settings.metrics_multiprocess_dir)
    return registry


async def render_metrics(settings: Settings) -> bytes:
    """The text exposition of every metric: the processes' counts, then the queues measured now (left out, with a
    warning, while the database does not answer)."""
    measured = CollectorRegistry(auto_describe=False)
    try:
        measured.register(Measured(await queue_metrics(utcnow())))
    except Exception as error:  # noqa: BLE001 -- the other metrics still tell the operator something
        logger.warning("Queue metrics left out of a scrape: %r", error)
    return generate_latest(_process_registry(settings)) + generate_latest(measured)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


def metrics_route(settings: Settings) -> Route:
    async def metrics(request: Request) -> Response:
        if settings.metrics_token and not _authorized(request, settings.metrics_token):
            headers = {**NO_STORE, "WWW-Authenticate": 'Bearer realm="metrics"'}
            return PlainTextResponse("A metrics token is needed.", status_code=401, headers=headers)
        body = await render_metrics(settings)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)

    return Route(METRICS_PATH, metrics, methods=["GET"])


def routes(settings: Settings) -> list[BaseRoute]:
    """`/metrics` on the portal's own port: only behind a token."""
    return [metrics_route(settings)] if settings.metrics_token else []


class _MetricsServer(uvicorn.Server):
    """A uvicorn server that runs beside another in the same process: the process's own server (or the worker)
    handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _shared_socket(host: str, port: int) -> socket.socket:
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listening = socket.socket(family, kind, protocol)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Every process of `portal serve --workers N` listens on the one port; the kernel spreads the scrapes.
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listening.bind(address)
    return listening


@contextlib.asynccontextmanager
async def metrics_listener(settings: Settings) -> AsyncIterator[None]:
    """Serve `/metrics` on PORTAL_METRICS_PORT while inside, when it is set."""
    if not settings.metrics_port:
        yield
        return
    listening = _shared_socket(settings.host, settings.metrics_port)
    app = Starlette(routes=[metrics_route(settings)])
    server = _MetricsServer(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield
    finally:
        server.should_exit = True
        await serving
        listening.close()
