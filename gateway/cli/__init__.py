"""The `portal` command line: migrations, demo data, portal sessions, API keys, webhook endpoints, magic links, stored
documents and the web server.

Each noun is a module of this package with one public `add_…_parser` function per subcommand (listed in
`_SUBCOMMANDS`) that registers its arguments and its handler; a handler takes the parsed arguments and the settings
and returns the process exit code. common.py holds what several nouns share.
"""

import argparse
import sys
from collections.abc import Callable, Sequence

from gateway.cli import (
    api_keys,
    billing,
    businesses,
    database,
    demo,
    documents,
    links,
    serve,
    sessions,
    webhooks,
    worker,
)
from gateway.cli.common import CommandError
from gateway.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    database.add_migrate_parser,
    database.add_makemigrations_parser,
    demo.add_seed_demo_parser,
    serve.add_serve_parser,
    worker.add_worker_parser,
    billing.add_billing_parser,
    documents.add_documents_parser,
    demo.add_demo_parser,
    sessions.add_session_parser,
    businesses.add_business_parser,
    api_keys.add_api_key_parser,
    webhooks.add_webhook_parser,
    links.add_link_parser,
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
