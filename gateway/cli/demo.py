"""`portal seed-demo` and `portal demo`: the demo data, and the demo on its own SQLite file with the ways into it
printed (tokens, sign-in pages, a magic link, a curl)."""

import argparse
import asyncio
import dataclasses

from access.login_links import create_magic_link
from billing.context import BillingContext
from gateway.cli.common import run_with_database
from gateway.cli.database import migrate_database
from gateway.cli.serve import serve, with_address
from gateway.cli.sessions import open_cli_session
from gateway.demo.seed import DEMO_EMAIL, DemoSummary, seed_demo
from gateway.payments import build_billing_context
from gateway.settings import Settings
from models import Customer

# The demo always runs on this local file, so it can never write demo data into a DATABASE_URL database.
DEMO_DATABASE_URL = "sqlite://portal.db"
DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8000


def add_seed_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("seed-demo", help="add the demo businesses and customers (idempotent)")
    parser.set_defaults(handler=_seed_demo)


def _demo_billing(settings: Settings) -> BillingContext:
    """The demo's history is sandbox money in both modes, whatever the deployment lets its own live mode charge."""
    return build_billing_context(dataclasses.replace(settings, sandbox_in_live_mode=True))


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    summary = run_with_database(settings, lambda: seed_demo(_demo_billing(settings)))
    print(_describe_demo(summary))
    return 0


def _describe_demo(summary: DemoSummary) -> str:
    businesses = ", ".join(f"{b.name} ({b.currency}, {b.id})" for b in summary.businesses)
    return (
        f"Demo data: {businesses}; {summary.customers} customers, {summary.subscriptions} subscriptions, "
        f"{summary.invoices} invoices."
    )


def add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help=f"migrate and seed {DEMO_DATABASE_URL}, print ready tokens, serve on {DEMO_HOST}:{DEMO_PORT}"
    )
    parser.add_argument("--port", type=int, default=DEMO_PORT, help="port to listen on when 8000 is taken")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    # The demo's shops are live-mode ones, charged by the sandbox: the one deployment allowed to. It runs on one's own
    # machine, so its webhooks may go to a receiver there (the README's walkthrough starts one on 127.0.0.1).
    demo_settings = dataclasses.replace(
        settings, database_url=DEMO_DATABASE_URL, sandbox_in_live_mode=True, webhooks_allow_private=True
    )
    settings = with_address(demo_settings, DEMO_HOST, args.port)
    asyncio.run(migrate_database(settings.database_url))

    async def seed_and_sign_in() -> DemoAccess:
        summary = await seed_demo(_demo_billing(settings))
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
