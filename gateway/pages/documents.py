"""Billing documents as PDF: an invoice (`GET /invoices/{invoice_id}/pdf`) and the credit note of a refund
(`GET /credit-notes/{refund_id}/pdf`), in the reader's language (`?locale=`, else the session's, else the browser's).

The `pdfUrl` of the customer schema leads here. The session is the page's cookie or a GraphQL client's
`Authorization: Bearer` token, and every row comes through its Viewer: an id outside the scope, missing or malformed
gets the same not-found page. Without a live session a browser (asking for HTML, with no token) is sent to sign in like
on every page, while anything else gets 401 and `WWW-Authenticate: Bearer`: an API client that followed a redirect
would get a sign-in page with status 200 and could save it as the PDF. A session renders at most
PDF_RENDERS_PER_SESSION documents a minute (429 with Retry-After beyond), since each costs real CPU.

A document is served from billing.document_store with a strong ETag (`If-None-Match` answers 304), rendered in the
app's render pool when not stored yet; a pool with every slot taken answers 503 with Retry-After.
"""

import functools
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from access.rate_limits import PDF_RENDERS_PER_SESSION, hit
from access.viewer import Viewer
from billing.document_store import Renderer, RendererBusy, StoredPdf, credit_note_pdf, invoice_pdf
from gateway.http.browsers import wants_page
from gateway.http.request_auth import bearer_token, viewer_from_request
from gateway.pages.common import error_page, not_found_page, page_locale, sign_in_redirect
from gateway.pages.signed_in import route
from gateway.pdf_rendering import RETRY_AFTER_SECONDS
from gateway.settings import Settings
from models import Payment
from schema.customer.invoices import CREDIT_NOTE_PDF_PATH, INVOICE_PDF_PATH

# A document's number as a file name: ASCII letters, digits, dot, dash and underscore.
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")
NOT_SIGNED_IN = "Sign in first: send `Authorization: Bearer <portal session token>` or the portal_session cookie."

# Finds a document by id in the viewer's scope and gets its PDF: (number, PDF), or None when there is none.
Find = Callable[[Viewer, str, str, Renderer], Awaitable[tuple[str, StoredPdf] | None]]


async def _invoice(viewer: Viewer, invoice_id: str, locale: str, renderer: Renderer) -> tuple[str, StoredPdf] | None:
    invoice = await viewer.get_invoice(invoice_id)
    if invoice is None:
        return None

    async def payment() -> Payment | None:
        return await viewer.get_payment(invoice.payment_id) if invoice.payment_id else None

    return invoice.number, await invoice_pdf(invoice, payment, locale, renderer)


async def _credit_note(viewer: Viewer, refund_id: str, locale: str, renderer: Renderer) -> tuple[str, StoredPdf] | None:
    refund = await viewer.get_refund(refund_id)
    # A credit note prints the invoice it corrects; one whose invoice is gone has nothing to print.
    invoice = await viewer.get_invoice(refund.invoice_id) if refund and refund.invoice_id else None
    if refund is None or invoice is None:
        return None
    payment = functools.partial(viewer.get_payment, refund.payment_id)
    return refund.credit_note_number or "", await credit_note_pdf(refund, invoice, payment, locale, renderer)


def attachment_name(number: str) -> str:
    return f"{_UNSAFE_IN_FILE_NAME.sub('_', number).strip('._') or 'document'}.pdf"


def renderer_of(request: Request) -> Renderer:
    """The app's render pool (gateway.pdf_rendering)."""
    renderer: Renderer = request.app.state.pdf_renderer
    return renderer


def pdf_response(request: Request, number: str, pdf: StoredPdf) -> Response:
    """The stored PDF as a download, or 304 when the client's copy has its ETag."""
    headers = {
        "ETag": pdf.etag,
        # Personal data: no shared cache keeps it, and no cache at all after the session ends.
        "Cache-Control": "private, no-store",
    }
    if pdf.etag in (tag.strip() for tag in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{attachment_name(number)}"'
    return Response(pdf.content, media_type="application/pdf", headers=headers)


def _not_signed_in(request: Request) -> Response:
    token = bearer_token(request)
    if token is None and wants_page(request):
        return sign_in_redirect(request)
    challenge = 'Bearer error="invalid_token"' if token else "Bearer"
    return PlainTextResponse(
        NOT_SIGNED_IN, status_code=401, headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"}
    )


def _too_many(request: Request, settings: Settings, locale: str) -> Response:
    response = error_page(request, settings, 429, locale=locale)
    response.headers["Retry-After"] = str(PDF_RENDERS_PER_SESSION.window_seconds)
    return response


def _busy(request: Request, settings: Settings, locale: str) -> Response:
    response = error_page(request, settings, 503, locale=locale)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _download(path_parameter: str, find: Find) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, *, settings: Settings) -> Response:
        viewer = await viewer_from_request(request, settings)
        if viewer is None:
            return _not_signed_in(request)
        locale = page_locale(request, preferred=viewer.session.locale)
        if not await hit(PDF_RENDERS_PER_SESSION, viewer.session.id):
            return _too_many(request, settings, locale)
        try:
            document = await find(viewer, request.path_params[path_parameter], locale, renderer_of(request))
        except RendererBusy:
            return _busy(request, settings, locale)
        if document is None:
            return not_found_page(request, settings)
        return pdf_response(request, *document)

    return endpoint


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route(INVOICE_PDF_PATH, _download("invoice_id", _invoice), settings),
        route(CREDIT_NOTE_PDF_PATH, _download("refund_id", _credit_note), settings),
    ]
