"""`portal session create`: a portal session for a customer's email, its token printed."""

import argparse

from access.sessions import open_session
from gateway.cli.common import CommandError, run_with_database
from gateway.http.request_auth import session_policy
from gateway.settings import Settings
from models import Business, Customer, normalize_email
from models.enums import Scope
from models.ids import id_prefix, is_well_formed_id


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


def add_session_parser(subparsers: argparse._SubParsersAction) -> None:
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
