"""Invoice and credit-note PDFs, in the reader's language, from the invoice's snapshot of who sold to whom.

A document is first put into words (`Document`: every string it prints, translated and formatted for the locale:
money with core.money, days with core.i18n), then laid out with fpdf2 on A4. Right-to-left languages mirror the
layout: the seller and the labels on the right, amounts on the left. The fonts are billing.pdf_fonts's.

The output is byte-for-byte the same for the same document, locale and TEMPLATE_VERSION (and catalogs): the PDF's
creation date is the document's issue date, and fpdf2 derives the file id from the content. Rendering is CPU work:
billing.document_store keeps each rendered document, and `render` runs in the gateway's process pool.

Depends on core.i18n for the catalogs and the date format, like every other customer-facing text of billing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from babel.numbers import format_decimal
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos

from billing.line_wording import line_text
from billing.pdf_fonts import forget_glyphs, install_fonts, reduce_fonts
from billing.tax import tax_included
from core.display import card_network_name, readable_phone
from core.errors import N_
from core.i18n import format_day, format_rate, text_direction, translations
from core.money import format_money, parse_locale
from models import Invoice, InvoiceLine, Payment, Refund
from models.enums import InvoiceStatus

# Raise it with any change to what a rendered document looks like (layout, wording, fonts): stored documents keep
# the version they were rendered with until `portal documents rerender` renders them again.
TEMPLATE_VERSION = 2

STATUS_LABELS = {
    InvoiceStatus.PAID: N_("Paid"),
    InvoiceStatus.REFUNDED: N_("Refunded"),
    InvoiceStatus.PARTIALLY_REFUNDED: N_("Partially refunded"),
    InvoiceStatus.VOID: N_("Void"),
}
# Countries that put the postal code after the town ("San Francisco, CA 94105"); elsewhere it comes first
# ("114 55 Stockholm").
_CITY_BEFORE_POSTAL_CODE = {"US", "CA", "AU", "GB", "NZ"}

# Layout, in millimetres on A4 (210 wide): offsets are measured from the margin where the text starts (the left one,
# or the right one in right-to-left languages).
_MARGIN = 18.0
_WIDTH = 210.0 - 2 * _MARGIN
_HALF = 84.0
_FACT_LABEL = 34.0
_COLUMNS = ((0.0, 88.0), (88.0, 20.0), (108.0, 33.0), (141.0, 33.0))
_TOTALS_LABEL = (_WIDTH - 84.0, 49.0)
_TOTALS_VALUE = (_WIDTH - 35.0, 35.0)
_INK = (17, 24, 39)
_MUTED = (100, 108, 120)
_RULE = (220, 223, 228)
_HEADER_FILL = (243, 244, 246)


@dataclass(frozen=True)
class Document:
    """Everything one PDF prints, already in the reader's language."""

    title: str
    number: str
    issued_at: datetime
    seller: list[str]
    facts: list[tuple[str, str]]
    bill_to_label: str
    bill_to: list[str]
    columns: tuple[str, str, str, str] | None
    rows: list[tuple[str, str, str, str]]
    totals: list[tuple[str, str]]

    def strings(self) -> list[str]:
        """Every string printed, so the fonts that draw them can be chosen before anything is laid out."""
        pairs = [*self.facts, *self.totals]
        return [
            self.title,
            self.number,
            *self.seller,
            *(text for pair in pairs for text in pair),
            self.bill_to_label,
            *self.bill_to,
            *(self.columns or ()),
            *(cell for row in self.rows for cell in row),
        ]


class _Words:
    """The locale's way of saying things: translated labels, money, days, countries."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._catalog = translations(locale)

    def __call__(self, message: str) -> str:
        return self._catalog.gettext(message)

    def money(self, amount: int, currency: str) -> str:
        return format_money(amount, currency, self.locale)

    def day(self, moment: datetime) -> str:
        return format_day(moment, self.locale)

    def count(self, number: int) -> str:
        return format_decimal(number, locale=parse_locale(self.locale))

    def rate(self, basis_points: int) -> str:
        return format_rate(basis_points, self.locale)

    def tax_id(self, tax_id: str) -> str:
        return self(N_("Tax ID: %(tax_id)s")) % {"tax_id": tax_id} if tax_id else ""

    def country(self, code: str) -> str:
        return parse_locale(self.locale).territories.get(code.upper(), code) if code else ""


def card_name(payment: Payment | None) -> str:
    """`Visa •••• 4242` for the card that paid, empty when unknown."""
    if payment is None or not payment.card_network:
        return ""
    name = card_network_name(payment.card_network)
    return f"{name} •••• {payment.card_last_four}" if payment.card_last_four else name


def _address(address: dict, words: _Words) -> list[str]:
    line1, line2, city, state, postal_code, country = (
        (address.get(key) or "").strip() for key in ("line1", "line2", "city", "state", "postal_code", "country")
    )
    if country.upper() in _CITY_BEFORE_POSTAL_CODE:
        locality = [" ".join(part for part in (", ".join(p for p in (city, state) if p), postal_code) if part)]
    else:
        locality = [" ".join(part for part in (postal_code, city) if part), state]
    return [line for line in (line1, line2, *locality, words.country(country)) if line]


def _seller_lines(details: dict, words: _Words) -> list[str]:
    seller = details.get("seller") or {}
    lines = [
        seller.get("name") or "",
        *_address(seller.get("address") or {}, words),
        seller.get("email") or "",
        words.tax_id(seller.get("tax_id") or ""),
    ]
    return [line for line in lines if line]


def _buyer_lines(details: dict, words: _Words) -> list[str]:
    lines = [
        details.get("name") or "",
        details.get("email") or "",
        readable_phone(details.get("phone_number") or ""),
        *_address(details.get("address") or {}, words),
        words.tax_id(details.get("tax_id") or ""),
    ]
    return [line for line in lines if line]


def _tax_label(invoice: Invoice, words: _Words) -> str:
    """The tax's label ("Tax", "Tax included") with the rate the invoice was issued at: "Tax 10%". Invoices issued
    before the rate was kept show the label alone."""
    label = words(N_("Tax included") if tax_included(invoice) else N_("Tax"))
    return label if invoice.tax_rate_bp is None else f"{label} {words.rate(invoice.tax_rate_bp)}"


def invoice_document(invoice: Invoice, lines: list[InvoiceLine], payment: Payment | None, locale: str) -> Document:
    words = _Words(locale)
    currency = invoice.currency
    details = invoice.billing_details or {}
    paid_with = card_name(payment)
    facts = [
        (words(N_("Invoice number")), invoice.number),
        (words(N_("Issue date")), words.day(invoice.issued_at)),
        (words(N_("Status")), words(STATUS_LABELS.get(invoice.status, invoice.status))),
        *([(words(N_("Paid with")), paid_with)] if paid_with else []),
    ]
    totals = [
        (words(N_("Subtotal")), words.money(invoice.subtotal, currency)),
        *([(words(N_("Discount")), words.money(-invoice.discount, currency))] if invoice.discount else []),
        (_tax_label(invoice, words), words.money(invoice.tax, currency)),
        *(
            [(words(N_("Credit applied")), words.money(-invoice.credit_applied, currency))]
            if invoice.credit_applied
            else []
        ),
        (words(N_("Total")), words.money(invoice.total, currency)),
    ]
    return Document(
        title=words(N_("Invoice")),
        number=invoice.number,
        issued_at=invoice.issued_at,
        seller=_seller_lines(details, words),
        facts=facts,
        bill_to_label=words(N_("Bill to")),
        bill_to=_buyer_lines(details, words),
        columns=(words(N_("Description")), words(N_("Quantity")), words(N_("Unit price")), words(N_("Amount"))),
        rows=[
            (
                line_text(line.description, line.wording, locale),
                words.count(line.quantity),
                words.money(line.unit_amount, currency),
                words.money(line.amount, currency),
            )
            for line in lines
        ],
        totals=totals,
    )


def credit_note_document(refund: Refund, invoice: Invoice, payment: Payment | None, locale: str) -> Document:
    """The credit note of a succeeded refund: the invoice it corrects, the amount given back and why."""
    words = _Words(locale)
    details = invoice.billing_details or {}
    refunded_to = card_name(payment)
    issued_at = refund.issued_at or refund.created_at
    facts = [
        (words(N_("Credit note number")), refund.credit_note_number or ""),
        (words(N_("Issue date")), words.day(issued_at)),
        (words(N_("Corrects invoice")), invoice.number),
        (words(N_("Invoice date")), words.day(invoice.issued_at)),
        *([(words(N_("Refunded to")), refunded_to)] if refunded_to else []),
        *([(words(N_("Reason")), refund.reason)] if refund.reason else []),
    ]
    return Document(
        title=words(N_("Credit note")),
        number=refund.credit_note_number or "",
        issued_at=issued_at,
        seller=_seller_lines(details, words),
        facts=facts,
        bill_to_label=words(N_("Bill to")),
        bill_to=_buyer_lines(details, words),
        columns=None,
        rows=[],
        totals=[
            (words(N_("Invoice total")), words.money(invoice.total, invoice.currency)),
            (words(N_("Amount refunded")), words.money(refund.amount, refund.currency)),
        ],
    )


class _PDF(FPDF):
    """fpdf2 (2.8.9) with one fix: a line whose first glyph comes from a fallback face sets the main face inside the
    line's own graphics state (`q … Q`) yet records it as set for the page, so the next line in the main face is
    drawn with no font, or with the wrong one. Each line here sets its font again (a few bytes per line)."""

    def _render_styled_text_line(self, *args: Any, **kwargs: Any) -> bool:
        self.current_font_is_set_on_page = False
        return super()._render_styled_text_line(*args, **kwargs)


class _Sheet:
    """An fpdf2 page whose positions are measured from the side text starts on, so one layout serves both
    directions."""

    def __init__(self, document: Document, locale: str) -> None:
        self.rtl = text_direction(locale) == "rtl"
        pdf = _PDF(unit="mm", format="A4")
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(False)
        pdf.set_creation_date(document.issued_at)
        pdf.set_title(f"{document.title} {document.number}")
        pdf.set_author(document.seller[0] if document.seller else "")
        pdf.set_lang(locale)
        self.face = install_fonts(pdf, locale, document.strings())
        pdf.add_page()
        self.pdf = pdf

    def x(self, offset: float, width: float) -> float:
        return _MARGIN + offset if not self.rtl else 210.0 - _MARGIN - offset - width

    def align(self, end: bool = False) -> Align:
        return Align.R if end != self.rtl else Align.L

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        # The CJK face has no bold cut: its documents rely on size for emphasis.
        self.pdf.set_font(self.face.family, "B" if bold and self.face.bold else "", size)
        self.pdf.set_text_color(*color)

    def text(self, offset: float, width: float, y: float, text: str, *, end: bool = False) -> float:
        """Write `text` wrapped into a column; returns the height it took."""
        self.pdf.set_xy(self.x(offset, width), y)
        height = self.line_height()
        lines = self.lines(width, height, text, align=self.align(end), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return len(lines) * height

    def height_of(self, width: float, text: str) -> float:
        return len(self.lines(width, self.line_height(), text, dry_run=True)) * self.line_height()

    def lines(self, width: float, height: float, text: str, **options: Any) -> list[str]:
        """The lines `text` wraps into (written unless `dry_run`)."""
        # fpdf2 types multi_cell's result as the union of every `output` it can ask for; LINES is a list of lines.
        return cast("list[str]", self.pdf.multi_cell(width, height, text, output=MethodReturnValue.LINES, **options))

    def line_height(self) -> float:
        return self.pdf.font_size * 1.45

    def rule(self, y: float, offset: float = 0.0, width: float = _WIDTH, thickness: float = 0.2) -> None:
        self.pdf.set_draw_color(*_RULE)
        self.pdf.set_line_width(thickness)
        left = self.x(offset, width)
        self.pdf.line(left, y, left + width, y)

    def room_for(self, y: float, height: float) -> float:
        """`y`, or the top of a new page when `height` would not fit above the bottom margin."""
        if y + height <= self.pdf.h - _MARGIN:
            return y
        self.pdf.add_page()
        return _MARGIN


def _draw_header(sheet: _Sheet, document: Document) -> float:
    """The seller on the start side; the title and the facts on the other. Returns where the next block starts."""
    y = _MARGIN
    sheet.font(13, bold=True)
    for position, line in enumerate(document.seller):
        y += sheet.text(0, _HALF, y, line)
        if position == 0:
            sheet.font(9, color=_MUTED)
    seller_bottom = y
    y = _MARGIN
    sheet.font(20, bold=True)
    y += sheet.text(_WIDTH - _HALF, _HALF, y, document.title) + 2
    for label, value in document.facts:
        sheet.font(9, color=_MUTED)
        label_height = sheet.text(_WIDTH - _HALF, _FACT_LABEL, y, label)
        sheet.font(9)
        y += max(label_height, sheet.text(_WIDTH - _HALF + _FACT_LABEL, _HALF - _FACT_LABEL, y, value))
    return max(seller_bottom, y) + 10


def _draw_bill_to(sheet: _Sheet, document: Document, y: float) -> float:
    if not document.bill_to:
        return y
    sheet.font(9, bold=True, color=_MUTED)
    y += sheet.text(0, _HALF, y, document.bill_to_label) + 1
    for position, line in enumerate(document.bill_to):
        sheet.font(11 if position == 0 else 9.5, bold=position == 0)
        y += sheet.text(0, _HALF, y, line)
    return y + 8


def _table_header(sheet: _Sheet, columns: tuple[str, ...], y: float) -> float:
    sheet.font(8.5, bold=True, color=_MUTED)
    sheet.pdf.set_fill_color(*_HEADER_FILL)
    height = max(sheet.height_of(width, text) for (_, width), text in zip(_COLUMNS, columns, strict=True)) + 3
    sheet.pdf.rect(_MARGIN, y, _WIDTH, height, style="F")
    for index, ((offset, width), text) in enumerate(zip(_COLUMNS, columns, strict=True)):
        sheet.text(offset, width, y + 1.5, text, end=index > 0)
    return y + height


def _draw_table(sheet: _Sheet, document: Document, y: float) -> float:
    if document.columns is None:
        return y
    y = _table_header(sheet, document.columns, y)
    for row in document.rows:
        sheet.font(10)
        height = max(sheet.height_of(width, text) for (_, width), text in zip(_COLUMNS, row, strict=True)) + 4
        top = sheet.room_for(y, height)
        if top != y:
            top = _table_header(sheet, document.columns, top)
        sheet.font(10)
        for index, ((offset, width), text) in enumerate(zip(_COLUMNS, row, strict=True)):
            sheet.text(offset, width, top + 2, text, end=index > 0)
        y = top + height
        sheet.rule(y)
    return y + 6


def _draw_totals(sheet: _Sheet, document: Document, y: float) -> float:
    for position, (label, value) in enumerate(document.totals):
        last = position == len(document.totals) - 1
        sheet.font(11 if last else 9.5, bold=last, color=_INK if last else _MUTED)
        height = max(sheet.height_of(_TOTALS_LABEL[1], label), sheet.height_of(_TOTALS_VALUE[1], value)) + 2
        y = sheet.room_for(y, height + 2)
        if last:
            sheet.rule(y, _TOTALS_LABEL[0], _WIDTH - _TOTALS_LABEL[0], thickness=0.4)
            y += 2
        sheet.text(*_TOTALS_LABEL, y + 1, label)
        sheet.font(11 if last else 9.5, bold=last)
        sheet.text(*_TOTALS_VALUE, y + 1, value, end=True)
        y += height
    return y


def render(document: Document, locale: str) -> bytes:
    """The PDF of a document, in `locale`'s direction and fonts."""
    sheet = _Sheet(document, locale)
    try:
        y = _draw_header(sheet, document)
        y = _draw_bill_to(sheet, document, y)
        y = _draw_table(sheet, document, y)
        _draw_totals(sheet, document, y)
        reduce_fonts(sheet.pdf)
        return bytes(sheet.pdf.output())
    finally:
        forget_glyphs()


def render_invoice(invoice: Invoice, lines: list[InvoiceLine], payment: Payment | None, locale: str) -> bytes:
    return render(invoice_document(invoice, lines, payment, locale), locale)


def render_credit_note(refund: Refund, invoice: Invoice, payment: Payment | None, locale: str) -> bytes:
    return render(credit_note_document(refund, invoice, payment, locale), locale)
