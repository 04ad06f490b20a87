"""The composition root: builds the Starlette application from the settings and wires every part.

Around the routes, outermost first: the request log and metrics, the client's real address (forwarded headers,
believed only from PORTAL_TRUSTED_PROXIES), the security headers, the request id (and the 500 of an unexpected error,
the 503 of an unreachable database), the host (the platform or a business's custom domain, else 400; the operator's
paths, the health probes and the metrics, on any host), CORS for the customer API, the body limits.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from billing.processors.sandbox import SandboxProcessor
from gateway import health, pages
from gateway.garbage_collection import settle_garbage_collector
from gateway.graphql import customer as customer_graphql
from gateway.graphql import merchant as merchant_graphql
from gateway.http import access_log, request_ids
from gateway.http.access_log import AccessLogMiddleware
from gateway.http.body_limits import BodyLimitMiddleware
from gateway.http.cors import CorsMiddleware
from gateway.http.hosts import HostMiddleware
from gateway.http.log_redaction import ACCESS_LOGGER, redact_secrets_in
from gateway.http.request_ids import RequestIdMiddleware
from gateway.http.security_headers import SecurityHeadersMiddleware
from gateway.metrics import exposition
from gateway.metrics.exposition import metrics_listener
from gateway.metrics.instruments import watch_domain_outcomes
from gateway.pages import errors
from gateway.pages import sandbox as sandbox_pages
from gateway.pages import stripe as stripe_pages
from gateway.payments import build_billing_context
from gateway.pdf_rendering import RenderPool, close_pools
from gateway.rest import (
    access_tokens,
    customers,
    discounts,
    license_keys,
    payments,
    portal_sessions,
    product_collections,
    products,
    purchases,
    stripe_webhooks,
    subscriptions,
    webhook_endpoints,
)
from gateway.settings import Settings
from gateway.worker import run_worker
from merchants.domain_verification import TxtLookup, dns_txt_lookup
from models.database import connect, disconnect
from schema.common import limits

WORKER_STOP_SECONDS = 10
# Strawberry logs every error with a traceback and the query, a client's mistakes included; the schemas' own
# PortalErrorMasking logs each request's errors once instead.
STRAWBERRY_ERROR_LOGGER = "strawberry.execution"
OUTGOING_REQUEST_LOGGERS = ("stripe", "httpx")


def _refuse_all(record: logging.LogRecord) -> bool:
    return False


def configure_logs(routes: list[BaseRoute]) -> None:
    """Secrets out of every logger that writes request data (the secret path segments named by `routes`);
    strawberry's own error log off; no line per outgoing request."""
    redact_secrets_in(
        routes, ACCESS_LOGGER, access_log.logger.name, "uvicorn.error", request_ids.logger.name, limits.logger.name
    )
    for name in OUTGOING_REQUEST_LOGGERS:
        # Their lines name Stripe's SetupIntents and PaymentIntents, whose ids open the portal's Stripe pages.
        logging.getLogger(name).setLevel(max(logging.getLogger(name).getEffectiveLevel(), logging.WARNING))
    strawberry_log = logging.getLogger(STRAWBERRY_ERROR_LOGGER)
    if _refuse_all not in strawberry_log.filters:
        strawberry_log.addFilter(_refuse_all)


def app_from_environment() -> Starlette:
    """The application as configured by the environment: what each process of `portal serve --workers N` runs."""
    app = create_app(Settings.from_env())
    settle_garbage_collector()
    return app


def create_app(
    settings: Settings, *, manage_database: bool = True, txt_lookup: TxtLookup = dns_txt_lookup
) -> Starlette:
    """The web application. Tests pass `manage_database=False` and open the database themselves, and a stub
    `txt_lookup` for custom domains' TXT records."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_database:
            await connect(settings.database_url)
        background: list[asyncio.Task] = []
        stop = asyncio.Event()
        if settings.run_worker_in_web:
            background.append(asyncio.create_task(run_worker(settings, stop, txt_lookup, pdf_renderer)))
        try:
            async with metrics_listener(settings):
                yield
        finally:
            stop.set()
            if background:
                # The worker finishes the email in hand rather than leave it to wait for its claim to lapse.
                await asyncio.wait(background, timeout=WORKER_STOP_SECONDS)
            for task in background:
                task.cancel()
            close_pools()
            if manage_database:
                await disconnect()

    billing = build_billing_context(settings)
    pdf_renderer = RenderPool(settings)
    watch_domain_outcomes()
    operator_routes = [*health.routes(settings), *exposition.routes(settings)]
    routes = [
        *operator_routes,
        *customer_graphql.routes(settings),
        *portal_sessions.routes(settings),
        *merchant_graphql.routes(settings),
        *payments.routes(),
        *purchases.routes(),
        *access_tokens.routes(settings),
        *customers.routes(),
        *subscriptions.routes(),
        *license_keys.routes(),
        *webhook_endpoints.routes(settings),
        *discounts.routes(),
        *products.routes(),
        *product_collections.routes(),
        *pages.routes(settings),
        # A business may connect Stripe at any time: its pages and its event route are always there.
        *stripe_pages.routes(settings),
        *stripe_webhooks.routes(),
    ]
    if isinstance(billing.processor, SandboxProcessor):
        # The sandbox's hosted pages (adding a card, authenticating a charge) exist while it is the processor.
        routes.extend(sandbox_pages.routes(settings, billing.processor))
    configure_logs(routes)
    graphql_paths = (customer_graphql.GRAPHQL_PATH, merchant_graphql.GRAPHQL_PATH)
    operator_paths = frozenset(route.path for route in operator_routes if isinstance(route, Route))
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLogMiddleware, quiet_paths=operator_paths),
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)),
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                RequestIdMiddleware,
                server_error=functools.partial(errors.server_error, settings),
                unavailable=functools.partial(errors.unavailable, settings, graphql_paths),
            ),
            Middleware(HostMiddleware, base_url=settings.base_url, open_paths=operator_paths),
            Middleware(CorsMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_body_bytes=settings.max_body_bytes,
                max_form_bytes=settings.max_form_bytes,
                graphql_paths=graphql_paths,
                too_large_form=functools.partial(errors.too_large_form, settings),
            ),
        ],
        exception_handlers=errors.exception_handlers(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.billing = billing
    app.state.txt_lookup = txt_lookup
    app.state.pdf_renderer = pdf_renderer
    return app
