"""The two servers under test as uvicorn factories (`uvicorn --factory bench.apps:graphql_app`): the portal's own
application and the hand-written baseline, both on the database named by BENCH_DATABASE_URL."""

import os
import secrets

from starlette.applications import Starlette

from bench.raw_endpoint import create_raw_app
from gateway.app import create_app
from gateway.settings import Settings

DATABASE_URL_VARIABLE = "BENCH_DATABASE_URL"


def graphql_app(database_url: str | None = None) -> Starlette:
    """The portal as deployed, minus the outbox worker (web processes run without it in production)."""
    settings = Settings(
        database_url=database_url or os.environ[DATABASE_URL_VARIABLE],
        run_worker_in_web=False,
        secret_key=secrets.token_urlsafe(32),
        log_level="WARNING",
    )
    return create_app(settings)


def raw_app() -> Starlette:
    return create_raw_app(os.environ[DATABASE_URL_VARIABLE])
