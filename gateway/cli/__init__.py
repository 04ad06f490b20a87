"""The `portal` command line: migrations, demo data, portal sessions, API keys, webhook endpoints, magic links and
the web server.

Each subcommand is one `_add_…_parser` function (listed in `_SUBCOMMANDS`) that registers its arguments and its
handler; a handler takes the parsed arguments and the settings and returns the process exit code.
"""

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import uvicorn
from tortoise.context import TortoiseContext
from tortoise.migrations.api.migrate import migrate as apply_migrations
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import MigrationWriter
from tortoise.transactions import in_transaction

from access.login_links import PortalLinkError, create_magic_link
from access.sessions import open_session
from billing.billing_run import run_billing
from gateway.app import app_from_environment, create_app
from gateway.demo.seed import DEMO_EMAIL, DemoSummary, seed_demo
from gateway.http.request_auth import session_policy
from gateway.payments import build_billing_context
from gateway.settings import Settings
from gateway.worker import run_worker_process
from merchants.api_keys import create_api_key, list_api_keys, revoke_api_key
from merchants.businesses import (
    BusinessChanges,
    BusinessInputError,
    create_business,
    list_businesses,
    update_business,
)
from merchants.custom_domains import (
    CustomDomainError,
    add_custom_domain,
    list_custom_domains,
    remove_custom_domain,
    sign_in_url_for,
    txt_record_of,
)
from merchants.domain_verification import dns_txt_lookup, verify_custom_domain
from merchants.webhooks import (
    WebhookEndpointError,
    create_endpoint,
    list_endpoints,
    replay_delivery,
    rotate_secret,
)
from models import ApiKey, Business, CustomDomain, Customer, WebhookDelivery, WebhookEndpoint, normalize_email
from models.database import is_sqlite, tortoise_config
from models.enums import CustomDomainStatus, Scope
from models.ids import find_by_client_id, id_prefix, is_well_formed_id

T = TypeVar("T")
Handler = Callable[[argparse.Namespace, Settings], int]

# The demo always runs on this local file, so it can never write demo data into a DATABASE_URL database.
DEMO_DATABASE_URL = "sqlite://portal.db"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8000


class CommandError(Exception):
    """A failure the user can fix; its message is printed without a traceback and the exit code is 1."""


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in a fresh event loop with the database open."""

    async def connected() -> T:
        # A context of the command's own rather than the process-wide fallback: the command also runs inside a
        # process that has a database open already (the tests call `main` in-process).
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(settings.database_url))
            return await work()

    return asyncio.run(connected())


async def migrate_database(database_url: str) -> None:
    """Apply every pending migration; creates a missing SQLite file."""
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        await apply_migrations(config=tortoise_config(database_url))


async def pending_migrations() -> list[MigrationWriter]:
    """Migrations the models need beyond the ones written so far (none, when they are in step)."""
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        if context.apps is None:
            raise RuntimeError("tortoise registered no apps")
        return await MigrationAutodetector(context.apps, config["apps"]).changes()


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
    # Our own loggers (the emails written to the log when no SMTP server is set, the worker) need a handler;
    # uvicorn configures only its own.
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # uvicorn would believe X-Forwarded-For from any loopback peer; the app believes PORTAL_TRUSTED_PROXIES only.
        "proxy_headers": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Each worker process builds the app from the environment (the secret key file is written by now), so the
    # address this command was given travels there too.
    os.environ.update(PORTAL_HOST=settings.host, PORTAL_PORT=str(settings.port), PORTAL_BASE_URL=settings.base_url)
    uvicorn.run(
        f"{app_from_environment.__module__}:{app_from_environment.__name__}", factory=True, workers=workers, **options
    )


async def open_cli_session(
    settings: Settings, *, email: str, business_id: str | None, livemode: bool
) -> tuple[str, Scope]:
    """A session for `email`: UNIFIED without a business, else BUSINESS for that business's customer record."""
    email = normalize_email(email)
    mode = "live" if livemode else "test"
    customer = None
    if business_id is None:
        scope = Scope.UNIFIED
        if not await Customer.exists(email=email, email_verified=True, livemode=livemode):
            raise CommandError(f"no customer with the verified email {email} in {mode} mode")
    else:
        scope = Scope.BUSINESS
        customers = Customer.filter(email=email, business_id=business_id, livemode=livemode)
        known = is_well_formed_id(business_id, id_prefix(Business))
        customer = await customers.order_by("-created_at", "-id").first() if known else None
        if customer is None:
            raise CommandError(f"no customer with the email {email} in business {business_id} ({mode} mode)")
    token, _ = await open_session(
        scope=scope, livemode=livemode, email=email, customer=customer, policy=session_policy(settings)
    )
    return token, scope


# --- portal migrate ---------------------------------------------------------------------------------------------


def _add_migrate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("migrate", help="apply pending database migrations (DATABASE_URL)")
    parser.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(migrate_database(settings.database_url))
    print("Database is up to date.")
    return 0


# --- portal makemigrations -------------------------------------------------------------------------------------


def _add_makemigrations_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("makemigrations", help="write a migration for model changes (for developers)")
    parser.set_defaults(handler=_makemigrations)


def _makemigrations(args: argparse.Namespace, settings: Settings) -> int:
    writers = asyncio.run(pending_migrations())
    for writer in writers:
        print(f"Wrote {writer.write()}")
    if not writers:
        print("No model changes.")
    return 0


# --- portal seed-demo -------------------------------------------------------------------------------------------


def _add_seed_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("seed-demo", help="add the demo businesses and customers (idempotent)")
    parser.set_defaults(handler=_seed_demo)


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    summary = run_with_database(settings, seed_demo)
    print(_describe_demo(summary))
    return 0


def _describe_demo(summary: DemoSummary) -> str:
    businesses = ", ".join(f"{b.name} ({b.currency}, {b.id})" for b in summary.businesses)
    return (
        f"Demo data: {businesses}; {summary.customers} customers, {summary.subscriptions} subscriptions, "
        f"{summary.invoices} invoices."
    )


# --- portal serve -----------------------------------------------------------------------------------------------


def _add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
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


# --- portal worker ----------------------------------------------------------------------------------------------


def _add_worker_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="send the outbox (emails) until SIGINT/SIGTERM; run any number")
    parser.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_with_database(settings, lambda: run_worker_process(settings))
    return 0


# --- portal billing run -----------------------------------------------------------------------------------------


def _add_billing_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("billing", help="billing")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="do the due billing work once: renewals, trial ends, cancellations, expiries")
    run.add_argument(
        "--now",
        type=_moment,
        help="act as if it were this ISO 8601 time (test mode only, to try renewals without waiting)",
    )
    run.add_argument("--mode", choices=("live", "test"), help="only this mode (default: both; test with --now)")
    run.set_defaults(handler=_billing_run)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _billing_run(args: argparse.Namespace, settings: Settings) -> int:
    if args.now and args.mode == "live":
        raise CommandError("--now moves the clock for test mode only; live subscriptions renew on real time")
    livemode = False if args.now else {"live": True, "test": False}.get(args.mode)
    billing = build_billing_context(settings)
    report = run_with_database(settings, lambda: run_billing(billing, now=args.now, livemode=livemode))
    print(
        f"Billing run: {report.renewed} renewed, {report.put_on_hold} put on hold, {report.cancelled} cancelled, "
        f"{report.expired} expired, {report.paused} paused, {report.unpaused} unpaused, "
        f"{report.plans_changed} scheduled plan changes applied, {report.recovered} unfinished payments recovered, "
        f"{report.license_keys_expired} license keys expired."
    )
    return 0


# --- portal demo ------------------------------------------------------------------------------------------------


def _add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help=f"migrate and seed {DEMO_DATABASE_URL}, print ready tokens, serve on {DEMO_HOST}:{DEMO_PORT}"
    )
    parser.add_argument("--port", type=int, default=DEMO_PORT, help="port to listen on when 8000 is taken")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    settings = with_address(dataclasses.replace(settings, database_url=DEMO_DATABASE_URL), DEMO_HOST, args.port)
    asyncio.run(migrate_database(settings.database_url))

    async def seed_and_sign_in() -> DemoAccess:
        summary = await seed_demo()
        business = summary.businesses[0]
        unified, _ = await open_cli_session(settings, email=DEMO_EMAIL, business_id=None, livemode=True)
        scoped, _ = await open_cli_session(settings, email=DEMO_EMAIL, business_id=business.id, livemode=True)
        customer = await Customer.get(email=DEMO_EMAIL, business_id=business.id, livemode=True)
        magic_link, _ = await create_magic_link(
            customer=customer,
            base_url=settings.base_url,
            link_seconds=settings.magic_link_seconds,
            portal_name=settings.portal_name,
            secret_key=settings.secret_key,
        )
        return DemoAccess(summary, unified, scoped, magic_link)

    access = run_with_database(settings, seed_and_sign_in)
    # Flushed now: the server runs until interrupted, and a pipe would hold the instructions back until then.
    print(demo_instructions(settings, access), flush=True)
    serve(settings)
    return 0


EXAMPLE_QUERY = (
    "{ viewer { email scope businesses { name } "
    "subscriptions(first: 5) { totalCount edges { node { id status } } } "
    "invoices(first: 5) { totalCount edges { node { number total { formatted } } } } } }"
)


@dataclasses.dataclass(frozen=True)
class DemoAccess:
    """The ways into the demo that `portal demo` prints."""

    summary: DemoSummary
    unified_token: str
    business_token: str
    magic_link: str


def demo_instructions(settings: Settings, access: DemoAccess) -> str:
    business = access.summary.businesses[0]
    body = '{"query": "' + EXAMPLE_QUERY + '"}'
    unified_token = access.unified_token
    return "\n".join(
        [
            _describe_demo(access.summary),
            "",
            f"Sign in as a customer in the browser (type {DEMO_EMAIL}; the sign-in email and its link are printed",
            "in this log, since no SMTP server is set):",
            *(f"  {b.name}: {settings.base_url}/login/{b.id}" for b in access.summary.businesses),
            f"  Unified portal, every business: {settings.base_url}/login",
            f"  Test mode: {settings.base_url}/test/login/{business.id} and {settings.base_url}/test/login",
            f"Magic link into {DEMO_EMAIL}'s portal at {business.name} (one use, 24 hours):",
            f"  {access.magic_link}",
            "",
            f"{DEMO_EMAIL}'s subscription at Sakura Fonts is on hold: its JCB card declines; pay and reactivate",
            "with her saved Visa or add a test card (4242 4242 4242 4242, any future expiry, any CVC).",
            "",
            f"Unified portal session for {DEMO_EMAIL} (live mode, every business):",
            f"  {unified_token}",
            f"Business portal session for {DEMO_EMAIL} at {business.name} ({business.id}):",
            f"  {access.business_token}",
            f"(sessions end after {settings.session_idle_seconds // 60} idle minutes; "
            f"`portal session create --email {DEMO_EMAIL}` makes a new one)",
            "",
            "Try the customer GraphQL API:",
            f"  curl -s {settings.base_url}/graphql \\",
            f'    -H "Authorization: Bearer {unified_token}" \\',
            '    -H "Content-Type: application/json" \\',
            f"    -d '{body}'",
            "",
            f"Serving on {settings.base_url} (Ctrl+C stops)",
        ]
    )


# --- portal session create --------------------------------------------------------------------------------------


def _add_session_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("session", help="portal sessions")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="open a portal session and print its token on the last line")
    create.add_argument("--email", required=True, help="the customer's email")
    create.add_argument("--business", help="a business id for a BUSINESS session; without it the session is UNIFIED")
    create.add_argument("--mode", choices=["live", "test"], default="live")
    create.set_defaults(handler=_create_session)


def _create_session(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[str, Scope]:
        return await open_cli_session(
            settings, email=args.email, business_id=args.business, livemode=args.mode == "live"
        )

    token, scope = run_with_database(settings, create)
    print(f"Opened a {scope.value} portal session in {args.mode} mode for {normalize_email(args.email)}:")
    print(token)
    return 0


# --- portal business create|list|update -------------------------------------------------------------------------


def _add_business_options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    parser.add_argument("--name", required=creating, help="the name customers see")
    parser.add_argument("--support-email", required=creating, help="where customers write; shown on every page")
    parser.add_argument("--primary-color", help="brand colour of the portal's header, e.g. #0b3d91")
    parser.add_argument("--accent-color", help="colour of links and buttons, e.g. #f59e0b")
    parser.add_argument("--logo-url", help="https URL of a square logo")
    parser.add_argument("--headline", help="a line under the name on the sign-in page")
    parser.add_argument("--website-url", help="https URL of the business's site")
    parser.add_argument("--return-url", help="https URL the portal's return button leads to by default")
    parser.add_argument("--invoice-prefix", help="1 to 12 capital letters or digits before invoice numbers")
    parser.add_argument("--country", help="ISO 3166 code of the business's country, e.g. US")
    parser.add_argument("--tax-rate", type=Decimal, help="tax in percent added to (or included in) every price")
    parser.add_argument(
        "--allow-plan-changes", action=argparse.BooleanOptionalAction, help="customers may change plans"
    )
    parser.add_argument(
        "--allow-cancellation", action=argparse.BooleanOptionalAction, help="customers may cancel online"
    )


def _add_business_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("business", help="the businesses that sell through this portal")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="add a business; prints its id and a first test and live API key")
    _add_business_options(create, creating=True)
    create.set_defaults(handler=_create_business)
    listing = actions.add_parser("list", help="every business: id, name, support email")
    listing.set_defaults(handler=_list_businesses)
    update = actions.add_parser("update", help="change a business's profile, branding or custom domains")
    update.add_argument("business_id")
    _add_business_options(update, creating=False)
    update.add_argument(
        "--add-domain",
        action="append",
        default=[],
        metavar="HOSTNAME",
        help="claim a hostname for the business's portal (repeatable); it serves once its TXT record is verified",
    )
    update.add_argument(
        "--remove-domain", action="append", default=[], metavar="HOSTNAME", help="stop serving it there (repeatable)"
    )
    update.set_defaults(handler=_update_business)
    verify = actions.add_parser("verify-domain", help="look for a claimed domain's TXT record now")
    verify.add_argument("business_id")
    verify.add_argument("hostname")
    verify.set_defaults(handler=_verify_domain)


def _business_changes(args: argparse.Namespace) -> BusinessChanges:
    return BusinessChanges(
        name=args.name,
        support_email=args.support_email,
        primary_color=args.primary_color,
        accent_color=args.accent_color,
        logo_url=args.logo_url,
        headline=args.headline,
        website_url=args.website_url,
        default_return_url=args.return_url,
        invoice_prefix=args.invoice_prefix,
        address_country=args.country,
        tax_rate_bp=None if args.tax_rate is None else int((args.tax_rate * 100).to_integral_value()),
        allow_subscription_updates=args.allow_plan_changes,
        allow_subscription_cancellation=args.allow_cancellation,
    )


def _create_business(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[Business, str, str]:
        business = await create_business(_business_changes(args))
        test_secret, _ = await create_api_key(business, livemode=False, name="First test key")
        live_secret, _ = await create_api_key(business, livemode=True, name="First live key")
        return business, test_secret, live_secret

    try:
        business, test_secret, live_secret = run_with_database(settings, create)
    except BusinessInputError as error:
        raise CommandError(str(error)) from error
    print(f"Created business {business.id} ({business.name}).")
    print(f"Its customers sign in at {settings.base_url}/login/{business.id} (test mode: /test/login/{business.id}).")
    print("API keys, shown only this once (`portal api-key create` makes more):")
    print(f"  test: {test_secret}")
    print(f"  live: {live_secret}")
    return 0


def _list_businesses(args: argparse.Namespace, settings: Settings) -> int:
    for business in run_with_database(settings, list_businesses):
        print(f"{business.id}  {business.name}  {business.support_email}")
    return 0


def _update_business(args: argparse.Namespace, settings: Settings) -> int:
    changing_domains = bool(args.add_domain or args.remove_domain)

    async def update() -> tuple[Business, list[CustomDomain], str]:
        business = await _business(args.business_id)
        changes = _business_changes(args)
        # All or nothing: a refused hostname leaves the profile and the other domains as they were.
        async with in_transaction():
            if changes.given() or not changing_domains:
                business = await update_business(business, changes)
            for hostname in args.remove_domain:
                await remove_custom_domain(business, hostname, platform_url=settings.base_url, livemode=True)
            for hostname in args.add_domain:
                await add_custom_domain(business, hostname, platform_url=settings.base_url, livemode=True)
        domains = await list_custom_domains(business)
        return business, domains, await sign_in_url_for(business, True, settings.base_url)

    try:
        business, domains, sign_in_url = run_with_database(settings, update)
    except BusinessInputError as error:
        raise CommandError(str(error)) from error
    except CustomDomainError as error:
        raise CommandError(f"{error.message} ({error.code.value})") from error
    print(f"Updated business {business.id} ({business.name}).")
    if changing_domains:
        listed = ", ".join(f"{domain.hostname} ({domain.status.value})" for domain in domains) or "none"
        print(f"Custom domains: {listed}. Its customers sign in at {sign_in_url}.")
        for domain in domains:
            if domain.status is CustomDomainStatus.PENDING:
                print(_verification_instructions(business, domain))
        if domains:
            print("Each domain needs DNS pointing at this deployment and a TLS certificate at the proxy.")
    return 0


def _verification_instructions(business: Business, domain: CustomDomain) -> str:
    record = txt_record_of(domain)
    return (
        f"To verify {domain.hostname}, publish a DNS TXT record {record.name} with the value {record.value}, then run "
        f"`portal business verify-domain {business.id} {domain.hostname}`; it is checked automatically until "
        f"{domain.expires_at:%Y-%m-%d %H:%M} UTC."
    )


def _verify_domain(args: argparse.Namespace, settings: Settings) -> int:
    async def verify() -> tuple[CustomDomain, str]:
        business = await _business(args.business_id)
        domain = await verify_custom_domain(
            business, args.hostname, platform_url=settings.base_url, livemode=True, lookup=dns_txt_lookup
        )
        return domain, await sign_in_url_for(business, True, settings.base_url)

    try:
        domain, sign_in_url = run_with_database(settings, verify)
    except CustomDomainError as error:
        raise CommandError(f"{error.message} ({error.code.value})") from error
    print(f"{domain.hostname} is verified. Its customers sign in at {sign_in_url}.")
    return 0


# --- portal api-key create|list|revoke -------------------------------------------------------------------------


def _add_api_key_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("api-key", help="merchant API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key and print its secret, shown only this once")
    create.add_argument("--business", required=True, help="the business id")
    create.add_argument("--mode", choices=["test", "live"], required=True)
    create.add_argument("--name", default="", help="a label to tell keys apart")
    create.set_defaults(handler=_create_api_key)
    listing = actions.add_parser("list", help="a business's keys: id, prefix, mode, created, revoked")
    listing.add_argument("--business", required=True, help="the business id")
    listing.set_defaults(handler=_list_api_keys)
    revoke = actions.add_parser("revoke", help="revoke a key for good, with the tokens and portal links it made")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke_api_key)


async def _business(business_id: str) -> Business:
    business = await find_by_client_id(Business, business_id)
    if business is None:
        raise CommandError(f"no business {business_id}")
    return business


def _create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[str, ApiKey]:
        return await create_api_key(await _business(args.business), livemode=args.mode == "live", name=args.name)

    secret, api_key = run_with_database(settings, create)
    print(f"Created {args.mode} API key {api_key.id} for {args.business}; the secret is shown only this once:")
    print(secret)
    return 0


def _list_api_keys(args: argparse.Namespace, settings: Settings) -> int:
    async def keys() -> list[ApiKey]:
        return await list_api_keys(await _business(args.business))

    for key in run_with_database(settings, keys):
        revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        mode = "live" if key.livemode else "test"
        print(f"{key.id}  {key.prefix}…  {mode}  created {key.created_at:%Y-%m-%d %H:%M}  {revoked}  {key.name}")
    return 0


def _revoke_api_key(args: argparse.Namespace, settings: Settings) -> int:
    api_key = run_with_database(settings, lambda: revoke_api_key(args.key_id))
    if api_key is None:
        raise CommandError(f"no API key {args.key_id}")
    print(f"Revoked API key {api_key.id} ({api_key.prefix}…); the tokens and portal links it made no longer work.")
    return 0


# --- portal webhook create|list|rotate|replay --------------------------------------------------------------------


def _add_webhook_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("webhook", help="webhook endpoints, until the merchant API manages them")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="add an endpoint and print its secret, shown only this once")
    create.add_argument("--business", required=True, help="the business id")
    create.add_argument("--mode", choices=["test", "live"], required=True)
    create.add_argument("--url", required=True, help="where to POST events (https in live mode)")
    create.add_argument("--events", default="", help="comma-separated event types (default: every type)")
    create.set_defaults(handler=_create_webhook)
    listing = actions.add_parser("list", help="a business's endpoints: id, mode, state, URL, event types")
    listing.add_argument("--business", required=True, help="the business id")
    listing.set_defaults(handler=_list_webhooks)
    rotate = actions.add_parser("rotate", help="new secret, printed once; the old one still signs for 24 hours")
    rotate.add_argument("endpoint_id")
    rotate.set_defaults(handler=_rotate_webhook)
    replay = actions.add_parser("replay", help="send a delivery again (same webhook-id) at the next worker pass")
    replay.add_argument("delivery_id")
    replay.set_defaults(handler=_replay_webhook)


def _create_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[WebhookEndpoint, str]:
        try:
            return await create_endpoint(
                await _business(args.business),
                livemode=args.mode == "live",
                url=args.url,
                event_types=[name.strip() for name in args.events.split(",") if name.strip()],
                allow_private=settings.webhooks_allow_private,
            )
        except WebhookEndpointError as error:
            raise CommandError(error.message) from error

    endpoint, secret = run_with_database(settings, create)
    print(
        f"Created {args.mode} webhook endpoint {endpoint.id} for {args.business}; the secret is shown only this once:"
    )
    print(secret)
    return 0


def _list_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    async def endpoints() -> list[WebhookEndpoint]:
        return await list_endpoints(await _business(args.business))

    for endpoint in run_with_database(settings, endpoints):
        mode = "live" if endpoint.livemode else "test"
        state = "disabled" if endpoint.disabled else "enabled"
        types = ",".join(endpoint.event_types) or "all events"
        print(f"{endpoint.id}  {mode}  {state}  {endpoint.url}  {types}")
    return 0


def _rotate_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate() -> str:
        endpoint = await find_by_client_id(WebhookEndpoint, args.endpoint_id)
        if endpoint is None:
            raise CommandError(f"no webhook endpoint {args.endpoint_id}")
        return await rotate_secret(endpoint)

    secret = run_with_database(settings, rotate)
    print(f"New secret for {args.endpoint_id}, shown only this once (the previous one still signs for 24 hours):")
    print(secret)
    return 0


def _replay_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def replay() -> None:
        delivery = await find_by_client_id(WebhookDelivery, args.delivery_id)
        if delivery is None:
            raise CommandError(f"no webhook delivery {args.delivery_id}")
        await replay_delivery(delivery)

    run_with_database(settings, replay)
    print(f"Delivery {args.delivery_id} is queued again; a worker sends it with the same webhook-id.")
    return 0


# --- portal link ------------------------------------------------------------------------------------------------


def _add_link_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("link", help="print a one-time magic link into a customer's portal")
    parser.add_argument("--customer", required=True, help="the customer id")
    parser.add_argument("--send-email", action="store_true", help="also email the link to the customer")
    parser.add_argument("--return-url", default="", help="where the portal's return button leads")
    parser.set_defaults(handler=_create_link)


def _create_link(args: argparse.Namespace, settings: Settings) -> int:
    async def create() -> tuple[str, datetime]:
        customer = await find_by_client_id(Customer, args.customer)
        if customer is None:
            raise CommandError(f"no customer {args.customer}")
        try:
            return await create_magic_link(
                customer=customer,
                base_url=settings.base_url,
                link_seconds=settings.magic_link_seconds,
                portal_name=settings.portal_name,
                secret_key=settings.secret_key,
                return_url=args.return_url,
                send_email=args.send_email,
                email_limits=settings.merchant_email_limits,
            )
        except PortalLinkError as error:
            raise CommandError(error.message) from error

    link, expires_at = run_with_database(settings, create)
    print(f"Magic link for {args.customer}, one use, valid until {expires_at:%Y-%m-%d %H:%M} UTC:")
    print(link)
    return 0


# ---------------------------------------------------------------------------------------------------------------

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_migrate_parser,
    _add_makemigrations_parser,
    _add_seed_demo_parser,
    _add_serve_parser,
    _add_worker_parser,
    _add_billing_parser,
    _add_demo_parser,
    _add_session_parser,
    _add_business_parser,
    _add_api_key_parser,
    _add_webhook_parser,
    _add_link_parser,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description="Self-hostable customer portal.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add_parser in _SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, Settings.from_env())
    except CommandError as error:
        print(f"portal: error: {error}", file=sys.stderr)
        return 1
