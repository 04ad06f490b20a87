"""The two servers under test as uvicorn factories (`uvicorn --factory bench.apps:graphql_app`): the portal's own
application and the hand-written baseline, both on the database named by BENCH_DATABASE_URL."""

import os
import secrets

from starlette.applications import Starlette

from bench.raw_endpoint import create_raw_app
from gateway.app import create_app
from gateway.garbage_collection import settle_garbage_collector
from gateway.settings import Settings

DATABASE_URL_VARIABLE = "BENCH_DATABASE_URL"
SECRET_KEY_VARIABLE = "BENCH_SECRET_KEY"


def graphql_app(database_url: str | None = None) -> Starlette:
    """The portal as deployed, minus the outbox worker (web processes run without it in production), behind a
    proxy on 127.0.0.1 whose X-Forwarded-For it believes: the benchmark's clients speak for many addresses. The
    secret key comes from the environment, so every worker process of one server signs alike. The bench data is
    live-mode and its businesses have no Stripe account, so the sandbox charges live mode (as in the demo)."""
    settings = Settings(
        database_url=database_url or os.environ[DATABASE_URL_VARIABLE],
        run_worker_in_web=False,
        sandbox_in_live_mode=True,
        secret_key=os.environ.setdefault(SECRET_KEY_VARIABLE, secrets.token_urlsafe(32)),
        log_level="WARNING",
        trusted_proxies=("127.0.0.1/32",),
    )
    app = create_app(settings)
    settle_garbage_collector()
    return app


def raw_app() -> Starlette:
    """The baseline, with the garbage collector set as the portal's serving processes set it."""
    app = create_raw_app(os.environ[DATABASE_URL_VARIABLE])
    settle_garbage_collector()
    return app
