"""`portal worker`: the outbox, webhook and billing worker as a process of its own."""

import argparse

from gateway.cli.common import run_with_database
from gateway.logs import configure_logging
from gateway.settings import Settings
from gateway.worker import run_worker_process


def add_worker_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="send the outbox (emails) until SIGINT/SIGTERM; run any number")
    parser.set_defaults(handler=_worker)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    run_with_database(settings, lambda: run_worker_process(settings))
    return 0
