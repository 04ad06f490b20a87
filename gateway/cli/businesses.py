"""`portal business create|list|update|verify-domain|reseal-keys`: the businesses that sell through this portal,
their profile, branding, custom domains and Stripe accounts."""

import argparse
from decimal import Decimal

from tortoise.transactions import in_transaction

from core.secret_box import SecretBox
from gateway.cli.common import CommandError, business_of, run_with_database
from gateway.settings import Settings
from merchants.api_keys import create_api_key
from merchants.businesses import BusinessChanges, BusinessInputError, create_business, list_businesses, update_business
from merchants.custom_domains import (
    CustomDomainError,
    add_custom_domain,
    list_custom_domains,
    remove_custom_domain,
    sign_in_url_for,
    txt_record_of,
)
from merchants.domain_verification import dns_txt_lookup, verify_custom_domain
from merchants.stripe_accounts import (
    StripeKeyError,
    StripeKeys,
    connect_stripe,
    disconnect_stripe,
    reseal_credentials,
    webhook_path,
)
from models import Business, CustomDomain, StripeAccount
from models.enums import CustomDomainStatus


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
        "--tax-id", help="the business's tax ID (a VAT number in the EU), printed on its invoices; '' clears it"
    )
    parser.add_argument(
        "--allow-plan-changes", action=argparse.BooleanOptionalAction, help="customers may change plans"
    )
    parser.add_argument(
        "--allow-cancellation", action=argparse.BooleanOptionalAction, help="customers may cancel online"
    )


def add_business_parser(subparsers: argparse._SubParsersAction) -> None:
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
    _add_stripe_options(update)
    update.set_defaults(handler=_update_business)
    verify = actions.add_parser("verify-domain", help="look for a claimed domain's TXT record now")
    verify.add_argument("business_id")
    verify.add_argument("hostname")
    verify.set_defaults(handler=_verify_domain)
    reseal = actions.add_parser(
        "reseal-keys", help="seal every business's Stripe keys again under the first of PORTAL_CREDENTIALS_KEYS"
    )
    reseal.set_defaults(handler=_reseal_keys)


def _add_stripe_options(parser: argparse.ArgumentParser) -> None:
    stripe = parser.add_argument_group("Stripe", "the business's own Stripe account; the keys decide the mode")
    stripe.add_argument("--stripe-secret-key", metavar="KEY", help="sk_test_…/rk_test_… or sk_live_…/rk_live_…")
    stripe.add_argument("--stripe-publishable-key", metavar="KEY", help="pk_test_… or pk_live_…")
    stripe.add_argument("--stripe-webhook-secret", metavar="SECRET", help="whsec_…: the endpoint's signing secret")
    stripe.add_argument("--stripe-account", metavar="ACCT", default="", help="acct_…: a connected account (Connect)")
    stripe.add_argument(
        "--stripe-disconnect", choices=("test", "live"), help="forget the business's Stripe keys for that mode"
    )


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
        tax_id=args.tax_id,
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


def _stripe_keys(args: argparse.Namespace) -> StripeKeys | None:
    given = (args.stripe_secret_key, args.stripe_publishable_key, args.stripe_webhook_secret)
    if not any(given):
        return None
    if not all(given):
        raise CommandError(
            "connecting Stripe takes --stripe-secret-key, --stripe-publishable-key and --stripe-webhook-secret"
        )
    return StripeKeys(*given, connected_account=args.stripe_account)


def _update_business(args: argparse.Namespace, settings: Settings) -> int:
    changing_domains = bool(args.add_domain or args.remove_domain)
    stripe_keys = _stripe_keys(args)
    changing_stripe = stripe_keys is not None or args.stripe_disconnect is not None
    box = SecretBox(settings.sealing_keys)

    connected: list[StripeAccount] = []

    async def update() -> tuple[Business, list[CustomDomain], str]:
        business = await business_of(args.business_id)
        changes = _business_changes(args)
        # All or nothing: a refused hostname leaves the profile and the other domains as they were.
        async with in_transaction():
            if changes.given() or not (changing_domains or changing_stripe):
                business = await update_business(business, changes)
            if args.stripe_disconnect:
                await disconnect_stripe(business, args.stripe_disconnect == "live")
            if stripe_keys is not None:
                connected.append(await connect_stripe(business, stripe_keys, box))
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
    except StripeKeyError as error:
        raise CommandError(f"{error.message} ({error.field})") from error
    print(f"Updated business {business.id} ({business.name}).")
    if args.stripe_disconnect:
        print(f"Stripe disconnected in {args.stripe_disconnect} mode.")
    for account in connected:
        mode = "live" if account.livemode else "test"
        print(f"Stripe connected in {mode} mode. In Stripe's dashboard, add a webhook endpoint at")
        print(f"  {settings.base_url}{webhook_path(business.id, account.livemode)}")
        print("  for payment_intent.succeeded, payment_intent.payment_failed, charge.refunded,")
        print("  charge.dispute.created, payment_method.updated, payment_method.automatically_updated and")
        print("  payment_method.detached, and give its signing secret as --stripe-webhook-secret.")
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
        business = await business_of(args.business_id)
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


def _reseal_keys(args: argparse.Namespace, settings: Settings) -> int:
    resealed = run_with_database(settings, lambda: reseal_credentials(SecretBox(settings.sealing_keys)))
    print(f"Sealed the Stripe keys of {resealed} account(s) under the first key; the older keys can now be dropped.")
    return 0
