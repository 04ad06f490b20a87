"""`portal billing run`: the due billing work once (renewals, trial ends, cancellations, expiries)."""

import argparse
from datetime import UTC, datetime

from billing.billing_run import run_billing
from gateway.cli.common import CommandError, run_with_database
from gateway.payments import build_billing_context
from gateway.settings import Settings


def add_billing_parser(subparsers: argparse._SubParsersAction) -> None:
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
        f"Billing run: {report.renewed} renewed, {report.put_on_hold} put on hold, "
        f"{report.retry_scheduled} failed renewals to retry, {report.cancelled} cancelled, "
        f"{report.expired} expired, {report.paused} paused, {report.unpaused} unpaused, "
        f"{report.plans_changed} scheduled plan changes applied, {report.recovered} unfinished payments recovered, "
        f"{report.license_keys_expired} license keys expired."
    )
    return 0
