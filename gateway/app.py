"""The composition root: builds the Starlette application from the settings and wires every part."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware

from gateway import customer_graphql, merchant_api, pages
from gateway.log_redaction import redact_tokens_in_access_log
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.settings import Settings
from gateway.worker import run_worker
from models.database import connect, disconnect

WORKER_STOP_SECONDS = 10


def create_app(settings: Settings, *, manage_database: bool = True) -> Starlette:
    """The web application. Tests pass `manage_database=False` and open the database themselves."""
    redact_tokens_in_access_log()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await connect(settings.database_url)
        background: list[asyncio.Task] = []
        stop = asyncio.Event()
        if settings.run_worker_in_web:
            background.append(asyncio.create_task(run_worker(settings, stop)))
        try:
            yield
        finally:
            stop.set()
            if background:
                # The worker finishes the email in hand rather than leave it to wait for its claim to lapse.
                await asyncio.wait(background, timeout=WORKER_STOP_SECONDS)
            for task in background:
                task.cancel()
            if manage_database:
                await disconnect()

    app = Starlette(
        routes=[
            *customer_graphql.routes(settings),
            *merchant_api.routes(settings),
            *pages.routes(settings),
        ],
        middleware=[Middleware(SecurityHeadersMiddleware)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
