"""`portal link`: a one-time magic link into a customer's portal, printed and optionally emailed."""

import argparse
from datetime import datetime

from access.login_links import PortalLinkError, create_magic_link
from gateway.cli.common import CommandError, run_with_database
from gateway.settings import Settings
from models import Customer
from models.ids import find_by_client_id


def add_link_parser(subparsers: argparse._SubParsersAction) -> None:
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
