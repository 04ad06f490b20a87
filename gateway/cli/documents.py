"""`portal documents rerender`: render the stored invoice and credit-note PDFs again after a template change.

Stored documents are what was issued and never change by themselves: a new TEMPLATE_VERSION (billing.invoice_pdf)
applies to documents rendered from then on, and to the stored ones only through this command, which says what it
renders (`--dry-run` only counts).
"""

import argparse

from billing.document_store import outdated, rerender
from billing.invoice_pdf import TEMPLATE_VERSION
from gateway.cli.common import business_of, run_with_database
from gateway.pdf_rendering import RenderPool, close_pools
from gateway.settings import Settings


def add_documents_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("documents", help="stored invoice and credit-note PDFs")
    actions = parser.add_subparsers(dest="action", required=True)
    again = actions.add_parser(
        "rerender", help="render stored PDFs of an older template version again with the current one"
    )
    again.add_argument("--business", help="only this business's documents (default: every business)")
    again.add_argument("--dry-run", action="store_true", help="count the documents, render nothing")
    again.set_defaults(handler=_rerender)


def _rerender(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> tuple[int, bool]:
        business_id = (await business_of(args.business)).id if args.business else None
        keys = await outdated(business_id)
        if args.dry_run:
            return len(keys), False
        return await rerender(keys, RenderPool(settings)), True

    try:
        count, rendered = run_with_database(settings, work)
    finally:
        close_pools()
    verb = "Re-rendered" if rendered else "Would re-render"
    print(f"{verb} {count} stored documents with template version {TEMPLATE_VERSION}.")
    return 0
