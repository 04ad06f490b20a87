"""Stored billing PDFs (billing.document_store): an issued document is rendered once per language and then served as
stored, the same bytes every time, with a strong ETag (304 to a client that has them); the worker renders the
customer's language when the document is issued; a stored document changes only through `portal documents
rerender`; someone else's stored document is still not found; and renders past the pool's bound are refused with
503 and Retry-After, on the customer's routes and the merchant API alike."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from billing.document_store import render_due
from billing.invoice_pdf import TEMPLATE_VERSION, Document, invoice_document
from billing.refunds import record_refund
from core.clock import utcnow
from gateway.app import create_app
from gateway.pdf_rendering import RETRY_AFTER_SECONDS, RenderPool
from gateway.settings import Settings
from models import InvoiceLine, StoredDocument
from models.database import tortoise_config
from tests.support.billing import billing_context
from tests.support.cli import portal
from tests.support.factories import business_token
from tests.support.invoices import ISSUED, issued_invoice
from tests.support.sales import key_of


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings, manage_database=False)


@pytest.fixture
async def http(app: Starlette, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url) as client:
        yield client


async def refusing(document: Document, locale: str) -> bytes:
    """A renderer for after the first download: anything served now must come from the store."""
    raise AssertionError(f"{document.number} rendered again in {locale}")


async def test_a_document_is_rendered_once_then_served_as_stored(app: Starlette, http: httpx.AsyncClient) -> None:
    customer, invoice, payment = await issued_invoice()
    http.cookies.set("portal_session", await business_token(customer))
    path = f"/invoices/{invoice.id}/pdf?locale=sv"

    first = await http.get(path)
    app.state.pdf_renderer = refusing
    again = await http.get(path)
    merchant = await http.get(f"/invoices/payments/{payment.id}?locale=sv", headers=await key_of(invoice.business_id))

    assert first.status_code == again.status_code == merchant.status_code == 200
    assert first.content.startswith(b"%PDF-") and again.content == first.content == merchant.content
    etag = f'"{hashlib.sha256(first.content).hexdigest()}"'
    assert first.headers["etag"] == again.headers["etag"] == merchant.headers["etag"] == etag


async def test_a_client_that_has_the_stored_pdf_gets_304(http: httpx.AsyncClient) -> None:
    customer, invoice, payment = await issued_invoice()
    http.cookies.set("portal_session", await business_token(customer))
    merchant_key = await key_of(invoice.business_id)
    etag = (await http.get(f"/invoices/{invoice.id}/pdf")).headers["etag"]

    unchanged = await http.get(f"/invoices/{invoice.id}/pdf", headers={"If-None-Match": etag})
    by_merchant = await http.get(
        f"/invoices/payments/{payment.id}", headers={**merchant_key, "If-None-Match": f'"other", {etag}'}
    )
    stale = await http.get(f"/invoices/{invoice.id}/pdf", headers={"If-None-Match": '"an-older-copy"'})

    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", etag)
    assert (by_merchant.status_code, by_merchant.content) == (304, b"")
    assert stale.status_code == 200 and stale.content.startswith(b"%PDF-")


async def test_the_worker_renders_the_customers_language_as_documents_are_issued(
    app: Starlette, http: httpx.AsyncClient, settings: Settings
) -> None:
    customer, invoice, payment = await issued_invoice(locale="ja-JP")
    http.cookies.set("portal_session", await business_token(customer))
    pool = RenderPool(settings)

    invoice_rendered = await render_due(pool, utcnow())
    app.state.pdf_renderer = refusing
    invoice_pdf = await http.get(f"/invoices/{invoice.id}/pdf?locale=ja")
    refund = await record_refund(payment, 2000, "Bought twice by mistake", ISSUED, context=billing_context())
    credit_note_rendered = await render_due(pool, utcnow())
    credit_note = await http.get(f"/credit-notes/{refund.id}/pdf?locale=ja")

    assert (invoice_rendered, credit_note_rendered) == (1, 1)
    assert await render_due(refusing, utcnow()) == 0
    assert invoice_pdf.status_code == credit_note.status_code == 200
    # Japanese documents are set in the CJK face.
    assert b"NotoSansCJK" in invoice_pdf.content and b"NotoSansCJK" in credit_note.content


async def test_someone_elses_stored_document_is_still_not_found(http: httpx.AsyncClient, settings: Settings) -> None:
    mine, _, _ = await issued_invoice()
    _, their_invoice, their_payment = await issued_invoice("Sakura Fonts", "SF", email="eve@example.com")
    their_refund = await record_refund(their_payment, 100, "", ISSUED, context=billing_context())
    await render_due(RenderPool(settings), utcnow())
    assert await StoredDocument.filter(document_id__in=[their_invoice.id, their_refund.id]).count() == 2
    http.cookies.set("portal_session", await business_token(mine))
    merchant_key = await key_of(mine.business_id)

    answers = [
        await http.get(f"/invoices/{their_invoice.id}/pdf"),
        await http.get(f"/credit-notes/{their_refund.id}/pdf"),
        await http.get(f"/invoices/payments/{their_payment.id}", headers=merchant_key),
        await http.get(f"/invoices/refunds/{their_refund.id}", headers=merchant_key),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert not any(b"%PDF" in answer.content for answer in answers)
    assert answers[2].json()["code"] == answers[3].json()["code"] == "NOT_FOUND"


async def test_renders_past_the_pools_bound_are_refused_with_retry_after(
    app: Starlette, http: httpx.AsyncClient, settings: Settings
) -> None:
    customer, invoice, payment = await issued_invoice()
    http.cookies.set("portal_session", await business_token(customer))
    merchant_key = await key_of(invoice.business_id)
    pool = RenderPool(replace(settings, pdf_render_processes=1, pdf_render_queue=1))
    app.state.pdf_renderer = pool
    lines = await InvoiceLine.filter(invoice_id=invoice.id)
    burst = [
        asyncio.create_task(pool(invoice_document(invoice, lines, payment, locale), locale)) for locale in ("ja", "ko")
    ]
    await asyncio.sleep(0)  # both renders take their slots

    portal_answer = await http.get(f"/invoices/{invoice.id}/pdf")
    merchant_answer = await http.get(f"/invoices/payments/{payment.id}", headers=merchant_key)
    await asyncio.gather(*burst)
    later = await http.get(f"/invoices/{invoice.id}/pdf")

    assert (portal_answer.status_code, portal_answer.headers["retry-after"]) == (503, str(RETRY_AFTER_SECONDS))
    assert (merchant_answer.status_code, merchant_answer.headers["retry-after"]) == (503, str(RETRY_AFTER_SECONDS))
    assert merchant_answer.json()["code"] == "UNAVAILABLE"
    assert later.status_code == 200 and later.content.startswith(b"%PDF-")


async def test_stored_documents_change_only_through_the_rerender_command(
    migrated_database: str, tmp_path: Path
) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        _, invoice, _ = await issued_invoice()
        # As an older template rendered it.
        await StoredDocument.filter(document_id=invoice.id).update(
            template_version=TEMPLATE_VERSION - 1, content=b"%PDF- older", etag='"older"', next_attempt_at=None
        )

    counted = portal("documents", "rerender", "--dry-run", database_url=migrated_database, cwd=tmp_path)
    done = portal("documents", "rerender", database_url=migrated_database, cwd=tmp_path)
    nothing_left = portal("documents", "rerender", database_url=migrated_database, cwd=tmp_path)

    assert counted.stdout == f"Would re-render 1 stored documents with template version {TEMPLATE_VERSION}.\n"
    assert done.stdout == f"Re-rendered 1 stored documents with template version {TEMPLATE_VERSION}.\n", done.stderr
    assert nothing_left.stdout == f"Re-rendered 0 stored documents with template version {TEMPLATE_VERSION}.\n"
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        rows = await StoredDocument.filter(document_id=invoice.id).order_by("template_version")
    assert [row.template_version for row in rows] == [TEMPLATE_VERSION - 1, TEMPLATE_VERSION]
    assert rows[0].content == b"%PDF- older"  # kept, no longer served
    assert rows[1].content.startswith(b"%PDF-") and rows[1].etag == f'"{hashlib.sha256(rows[1].content).hexdigest()}"'
