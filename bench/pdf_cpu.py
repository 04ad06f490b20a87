"""Server CPU per billing PDF (issue 24), as time.process_time measures it: a stored PDF's download, and a first
render in English and in Japanese in a render process. Prints figures, asserts nothing.

    python -m bench.pdf_cpu [--renders 20] [--downloads 50]

The renders run here as in a render pool process: the fonts warmed once (billing.pdf_fonts.warm, reported apart),
then one document after another, each a different invoice with other names, so nothing but the parsed fonts is
reused. A stored download is a whole request to the app in this process (ASGI, a scratch SQLite database, a portal
session), measured twice: the process's CPU, which includes SQLite's engine (on its own thread here, in the database
server on PostgreSQL) and the httpx client's share, and the event loop thread's alone (the client's share still in):
both are upper bounds of what a web process on PostgreSQL spends.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from access.sessions import SessionPolicy, open_session
from billing.invoice_pdf import Document, invoice_document, render
from billing.invoices import Line, issue_invoice
from billing.pdf_fonts import warm
from billing.tax import charge_amounts
from gateway.app import create_app
from gateway.pdf_rendering import close_pools
from gateway.settings import Settings
from models import Business, Customer, Invoice, InvoiceLine, Payment
from models.database import connect, disconnect
from models.enums import InvoiceStatus, PaymentPurpose, PaymentStatus, Scope

ISSUED = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
# Downloads a session may make a minute (access.rate_limits.PDF_RENDERS_PER_SESSION) are 30: a session per batch.
_DOWNLOADS_PER_SESSION = 25


def _sample(number: int, locale: str) -> Document:
    """A different invoice each time: its number, the buyer's name and street (in kanji for Japanese)."""
    if locale == "ja":
        # Three other kanji each time, so every document needs glyphs the one before did not.
        name = "".join(chr(0x4E00 + (number * 3 + offset) * 97 % 20000) for offset in range(3))
        address = {"line1": f"丸の内{number}-1-1", "city": "千代田区", "postal_code": "100-0005", "country": "JP"}
        currency, unit = "JPY", 980
    else:
        name, currency, unit = f"Ada Lovelace {number}", "USD", 1200
        address = {"line1": f"{number} Drottninggatan", "city": "Stockholm", "postal_code": "111 51", "country": "SE"}
    seller = {"name": "Northwind Tools", "email": "help@northwind.example", "address": {"country": "US"}}
    invoice = Invoice(
        id=f"inv_bench{number}",
        number=f"NW-{number:04d}",
        status=InvoiceStatus.PAID,
        currency=currency,
        subtotal=3 * unit,
        tax=0,
        total=3 * unit,
        issued_at=ISSUED,
        billing_details={"name": name, "email": "ada@example.com", "address": address, "seller": seller},
    )
    lines = [InvoiceLine(description="Team plan, monthly", position=0, quantity=3, unit_amount=unit, amount=3 * unit)]
    return invoice_document(invoice, lines, None, locale)


def _cpu_ms(work: Callable[..., object], *args: object) -> float:
    start = time.process_time()
    work(*args)
    return (time.process_time() - start) * 1000


def _report(label: str, samples: list[float]) -> None:
    print(f"{label:<34} median {statistics.median(samples):7.1f} ms   max {max(samples):7.1f} ms   n={len(samples)}")


def measure_renders(renders: int) -> None:
    print(f"fonts warmed once per render process  {_cpu_ms(warm):7.1f} ms")
    for locale, label in (("en", "first render, English"), ("ja", "first render, Japanese")):
        documents = [_sample(number, locale) for number in range(1, renders + 1)]
        _report(label, [_cpu_ms(render, document, locale) for document in documents])


async def _issued_invoice() -> tuple[Customer, Invoice]:
    business = await Business.create(name="Northwind Tools", support_email="help@nw.example", invoice_prefix="NW")
    customer = await Customer.create(
        business=business, livemode=True, email="ada@example.com", email_verified=True, name="Ada", locale="en"
    )
    amounts = charge_amounts(4900, rate_bp=0, inclusive=False)
    payment = await Payment.create(
        business=business,
        livemode=True,
        customer=customer,
        total_amount=amounts.total,
        tax=amounts.tax,
        subtotal=amounts.subtotal,
        currency="USD",
        status=PaymentStatus.SUCCEEDED,
        purpose=PaymentPurpose.PURCHASE,
        idempotency_key="bench",
    )
    async with in_transaction() as connection:
        invoice = await issue_invoice(
            connection,
            payment=payment,
            customer=customer,
            business=business,
            lines=[Line("Team plan, monthly", 1, 4900)],
            amounts=amounts,
            now=ISSUED,
        )
    return customer, invoice


async def _downloads(client: httpx.AsyncClient, customer: Customer, path: str, count: int) -> list[tuple[float, float]]:
    """The CPU of `count` downloads of a stored PDF, a session per batch: (the process's, the event loop thread's)."""
    samples: list[tuple[float, float]] = []
    while len(samples) < count:
        token, _ = await open_session(
            scope=Scope.BUSINESS, livemode=True, email=customer.email, customer=customer, policy=SessionPolicy()
        )
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(min(_DOWNLOADS_PER_SESSION, count - len(samples))):
            process, thread = time.process_time(), time.thread_time()
            answer = await client.get(path, headers=headers)
            samples.append(((time.process_time() - process) * 1000, (time.thread_time() - thread) * 1000))
            assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    return samples


async def measure_stored_downloads(downloads: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite://{Path(directory) / 'bench.db'}"
        await connect(url)
        try:
            await Tortoise.generate_schemas()
            customer, invoice = await _issued_invoice()
            settings = Settings(database_url=url, base_url="http://localhost", secret_key="bench")
            app = create_app(replace(settings, run_worker_in_web=False), manage_database=False)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url) as client:
                path = f"/invoices/{invoice.id}/pdf"
                # The first download renders and stores; the measured ones are served from the store.
                await _downloads(client, customer, path, 1)
                samples = await _downloads(client, customer, path, downloads)
            _report("stored PDF download, process", [process for process, _ in samples])
            _report("stored PDF download, loop thread", [thread for _, thread in samples])
        finally:
            close_pools()
            await disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=20, help="documents rendered per language")
    parser.add_argument("--downloads", type=int, default=50, help="downloads of a stored PDF")
    args = parser.parse_args()
    measure_renders(args.renders)
    asyncio.run(measure_stored_downloads(args.downloads))


if __name__ == "__main__":
    main()
