"""`portal serve`: the web server (uvicorn), in one process or several."""

import argparse
import dataclasses
import os
import sys
from typing import Any

import uvicorn

from gateway.app import app_from_environment, create_app
from gateway.garbage_collection import settle_garbage_collector
from gateway.logs import configure_logging, logging_config
from gateway.metrics.multiprocess import shared_metrics_directory
from gateway.settings import Settings
from models.database import is_sqlite


def with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    """The settings with another listening address; a base URL derived from the old address follows it."""
    host = host or settings.host
    port = port or settings.port
    derived = settings.base_url == f"http://{settings.host}:{settings.port}"
    base_url = f"http://{host}:{port}" if derived else settings.base_url
    return dataclasses.replace(settings, host=host, port=port, base_url=base_url)


def serve(settings: Settings, workers: int = 1) -> None:
    """Serve the portal; with `workers` > 1, from that many processes sharing the port (one per core uses the
    machine: a process runs its requests on one core)."""
    # Every logger, uvicorn's included, writes through one handler in PORTAL_LOG_FORMAT; uvicorn applies the same
    # configuration in each of its worker processes.
    configure_logging(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "log_config": logging_config(settings),
        # The portal's own request log (gateway.http.access_log) has the request id, the route and the duration.
        "access_log": False,
        # uvicorn would believe X-Forwarded-For from any loopback peer; the app believes PORTAL_TRUSTED_PROXIES only.
        "proxy_headers": False,
        # SIGTERM: stop accepting at once, let the requests in flight finish, but not for ever.
        "timeout_graceful_shutdown": settings.shutdown_seconds,
    }
    if workers == 1:
        app = create_app(settings)
        settle_garbage_collector()
        uvicorn.run(app, **options)
        return
    # Each worker process builds the app from the environment (the secret key file is written by now), so the
    # address this command was given travels there too, and so does the directory the processes count metrics in.
    os.environ.update(PORTAL_HOST=settings.host, PORTAL_PORT=str(settings.port), PORTAL_BASE_URL=settings.base_url)
    with shared_metrics_directory(settings):
        uvicorn.run(
            f"{app_from_environment.__module__}:{app_from_environment.__name__}",
            factory=True,
            workers=workers,
            **options,
        )


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run the web server")
    parser.add_argument("--host", help="address to listen on (default: PORTAL_HOST)")
    parser.add_argument("--port", type=int, help="port to listen on (default: PORTAL_PORT)")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes serving requests, one per core (PostgreSQL only; default 1)"
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print("--workers must be 1 or more.", file=sys.stderr)
        return 2
    if args.workers > 1 and is_sqlite(settings.database_url):
        # SQLite lets one process write at a time: a second one would fail its writes with "database is locked".
        print("--workers above 1 needs PostgreSQL (DATABASE_URL); SQLite serves from one process.", file=sys.stderr)
        return 2
    serve(with_address(settings, args.host, args.port), args.workers)
    return 0
