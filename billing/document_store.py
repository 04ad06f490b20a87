"""Issued invoices and credit notes as stored PDFs (models.documents): each is rendered once per state, language and
template version, kept, and served from the store ever after, with its SHA-256 as a strong ETag.

Rendering is the caller's `Renderer` (the gateway's process pool), so it never runs on the event loop's thread; a
renderer with every slot taken raises RendererBusy. The document is issued with a pending row in the customer's
language (`queue_render`, in the issuing transaction), which the worker renders (`render_due`), so the first download
is already stored. A new TEMPLATE_VERSION changes no stored document until `rerender` (`portal documents rerender`).
"""

import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from billing.invoice_pdf import TEMPLATE_VERSION, Document, credit_note_document, invoice_document
from core.i18n import DEFAULT_LOCALE, supported_locale
from models import Invoice, InvoiceLine, Payment, Refund, StoredDocument
from models.base import Columns
from models.enums import DocumentKind, InvoiceStatus
from models.leases import lease_due

LOGGER = logging.getLogger(__name__)
# Renders a document in a locale to PDF bytes, off the caller's thread.
Renderer = Callable[[Document, str], Awaitable[bytes]]
# The payment a document prints, read only when the document has to be rendered (a stored one needs none).
PaymentOf = Callable[[], Awaitable[Payment | None]]
RENDER_BATCH = 10
# Longer than a render takes, so a live worker's claim never lapses mid-render.
RENDER_LEASE = timedelta(minutes=2)
MAX_RENDER_ATTEMPTS = 5


class RendererBusy(Exception):
    """Every render slot is taken: the request should be retried a little later."""


@dataclass(frozen=True)
class StoredPdf:
    content: bytes
    etag: str


@dataclass(frozen=True)
class DocumentKey:
    """Which document, in which printed state and language; the business and mode are the owner's."""

    kind: DocumentKind
    document_id: str
    state: str
    locale: str
    business_id: str
    livemode: bool


def invoice_key(invoice: Invoice, locale: str) -> DocumentKey:
    return DocumentKey(DocumentKind.INVOICE, invoice.id, invoice.status, locale, invoice.business_id, invoice.livemode)


def credit_note_key(refund: Refund, locale: str) -> DocumentKey:
    return DocumentKey(DocumentKind.CREDIT_NOTE, refund.id, "", locale, refund.business_id, refund.livemode)


def preferred_locale(customer_locale: str) -> str:
    """The language a customer's documents are pre-rendered in."""
    return supported_locale(customer_locale) or DEFAULT_LOCALE


def strong_etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


def _rows(key: DocumentKey) -> Columns:
    return {"document_id": key.document_id, "state": key.state, "locale": key.locale}


async def find_stored(key: DocumentKey) -> StoredPdf | None:
    """The newest stored rendering of the document, whatever template version it has."""
    row = (
        await StoredDocument.filter(**_rows(key), content__isnull=False)
        .order_by("-template_version")
        .first()
        .values("content", "etag")
    )
    return StoredPdf(bytes(row["content"]), row["etag"]) if row else None


async def _keep(key: DocumentKey, content: bytes) -> StoredPdf:
    """Store a rendering at the current template version (filling the pending row when there is one)."""
    pdf = StoredPdf(content, strong_etag(content))
    current = StoredDocument.filter(**_rows(key), template_version=TEMPLATE_VERSION)
    if await current.filter(content__isnull=True).update(content=content, etag=pdf.etag, next_attempt_at=None):
        return pdf
    # Another request may store it first: a render of the same document and version is the same bytes.
    with contextlib.suppress(IntegrityError):
        await StoredDocument.create(
            business_id=key.business_id,
            livemode=key.livemode,
            kind=key.kind,
            **_rows(key),
            template_version=TEMPLATE_VERSION,
            content=content,
            etag=pdf.etag,
        )
    return pdf


async def _document(key: DocumentKey) -> Document:
    """Put a stored document's key into words, as of the state it names."""
    if key.kind == DocumentKind.CREDIT_NOTE:
        refund = await Refund.get(id=key.document_id)
        invoice = await Invoice.get(id=refund.invoice_id)
        payment = await Payment.get_or_none(id=refund.payment_id)
        return credit_note_document(refund, invoice, payment, key.locale)
    invoice = await Invoice.get(id=key.document_id)
    # Refunded since the row was written, the invoice is still owed in the state the row names (never saved).
    invoice.status = InvoiceStatus(key.state)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position", "id")
    payment = await Payment.get_or_none(id=invoice.payment_id) if invoice.payment_id else None
    return invoice_document(invoice, lines, payment, key.locale)


async def invoice_pdf(invoice: Invoice, payment_of: PaymentOf, locale: str, renderer: Renderer) -> StoredPdf:
    """The PDF of an invoice the caller may see: the stored one, else rendered now and stored."""
    key = invoice_key(invoice, locale)
    found = await find_stored(key)
    if found is not None:
        return found
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position", "id")
    return await _keep(key, await renderer(invoice_document(invoice, lines, await payment_of(), locale), locale))


async def credit_note_pdf(
    refund: Refund, invoice: Invoice, payment_of: PaymentOf, locale: str, renderer: Renderer
) -> StoredPdf:
    """The PDF of a credit note the caller may see: the stored one, else rendered now and stored."""
    key = credit_note_key(refund, locale)
    found = await find_stored(key)
    if found is not None:
        return found
    return await _keep(key, await renderer(credit_note_document(refund, invoice, await payment_of(), locale), locale))


async def queue_render(connection: BaseDBAsyncClient, key: DocumentKey, now: datetime) -> None:
    """Owe a rendering of a document just issued, for the worker; call inside the issuing transaction."""
    await StoredDocument.create(
        business_id=key.business_id,
        livemode=key.livemode,
        kind=key.kind,
        **_rows(key),
        template_version=TEMPLATE_VERSION,
        next_attempt_at=now,
        using_db=connection,
    )


def _key_of(row: StoredDocument) -> DocumentKey:
    return DocumentKey(row.kind, row.document_id, row.state, row.locale, row.business_id, row.livemode)


async def render_due(renderer: Renderer, now: datetime) -> int:
    """One pass of the worker: render up to a batch of owed documents; returns how many were stored."""
    rows = await lease_due(
        StoredDocument.filter(content__isnull=True, next_attempt_at__lte=now),
        order_by=("next_attempt_at", "id"),
        limit=RENDER_BATCH,
        lease={"next_attempt_at": now + RENDER_LEASE},
    )
    stored = 0
    for row in rows:
        try:
            await _keep(_key_of(row), await renderer(await _document(_key_of(row)), row.locale))
        except RendererBusy:
            # The pool is serving downloads; the lease brings these rows back.
            break
        except Exception:
            attempts = row.attempts + 1
            LOGGER.exception("Rendering %s %s (%s) failed, attempt %d", row.kind, row.document_id, row.locale, attempts)
            # After the last attempt the row waits for a download, which renders it again (and says why if not).
            retry = now + RENDER_LEASE * attempts if attempts < MAX_RENDER_ATTEMPTS else None
            await StoredDocument.filter(id=row.id).update(attempts=attempts, next_attempt_at=retry)
        else:
            # Owed under an older template version (a deploy in between), the row is settled by the new rendering.
            await StoredDocument.filter(id=row.id, content__isnull=True).delete()
            stored += 1
    return stored


async def outdated(business_id: str | None = None) -> list[DocumentKey]:
    """The stored documents whose newest rendering has an older template version than the current one."""
    query = StoredDocument.filter(content__isnull=False)
    if business_id is not None:
        query = query.filter(business_id=business_id)
    rows = await query.order_by("template_version").only(
        "kind", "document_id", "state", "locale", "business_id", "livemode", "template_version"
    )
    newest = {_key_of(row): row.template_version for row in rows}
    return [key for key, version in newest.items() if version < TEMPLATE_VERSION]


async def rerender(keys: list[DocumentKey], renderer: Renderer) -> int:
    """Render `keys` again at the current template version; the older renderings stay stored, unserved."""
    for key in keys:
        await _keep(key, await renderer(await _document(key), key.locale))
    return len(keys)
