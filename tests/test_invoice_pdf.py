"""Invoice and credit-note PDFs: what they say in English, Japanese and Arabic, that text in any bundled script gets a
real glyph, that a render is byte-for-byte repeatable and small, the right-to-left layout, and the download routes
(`/invoices/{id}/pdf`, `/credit-notes/{id}/pdf`, and `pdfUrl` in GraphQL) with the session's scope.

`PORTAL_REFRESH_SCREENSHOTS=1` also writes the PNGs of docs/screenshots/ (invoice-ja, invoice-ar, credit-note-sv).
"""

import logging
import os
import re
import subprocess
import sys
import unicodedata
import warnings
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from access.rate_limits import PDF_RENDERS_PER_SESSION
from billing.invoice_pdf import render_credit_note, render_invoice
from billing.pdf_fonts import FONT_DIR
from billing.refunds import record_refund
from core.i18n import SUPPORTED_LOCALES, translations
from core.money import format_money
from models import Invoice, InvoiceLine, Payment, Refund
from models.enums import InvoiceStatus
from tests.support.billing import billing_context
from tests.support.customer_graphql import graphql
from tests.support.factories import business_token, unified_token
from tests.support.invoices import ISSUED, issued_invoice
from tests.support.pages import without_noise

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
REFUNDED = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
# Small enough to mail and to keep: fpdf2 embeds only the glyphs a document uses.
MAX_BYTES = 150_000

SAKURA = {
    "name": "Sakura Fonts",
    "email": "help@sakura-fonts.example",
    "address": {
        "line1": "神宮前1-2-3",
        "city": "渋谷区",
        "state": "東京都",
        "postal_code": "150-0001",
        "country": "JP",
    },
}
NORTHWIND = {
    "name": "Northwind Tools",
    "email": "help@northwind.example",
    "address": {
        "line1": "500 Market Street",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94105",
        "country": "US",
    },
}
LUMIERE = {
    "name": "Atelier Lumière",
    "email": "bonjour@atelier-lumiere.example",
    "address": {"line1": "12 rue des Lilas", "city": "Lyon", "postal_code": "69003", "country": "FR"},
}
# A sentence in each bundled script besides Latin, Japanese and Arabic.
OTHER_SCRIPTS = ("שלום עולם", "สวัสดีครับ", "नमस्ते दुनिया", "서울특별시 중구", "北京市朝阳区", "Москва, Тверская улица")


def buyer(name: str, line1: str, city: str, postal_code: str, country: str, **extra: str) -> dict:
    address = {"line1": line1, "line2": "", "city": city, "state": "", "postal_code": postal_code, "country": country}
    return {"name": name, "email": "ada@example.com", "phone_number": "", "tax_id": "", "address": address, **extra}


def sample_invoice(
    seller: dict, buyer_details: dict, currency: str, lines: list[tuple[str, int, int]], **amounts: int
) -> tuple[Invoice, list[InvoiceLine]]:
    """An invoice as issue_invoice writes it (not saved): its lines, and amounts that add up."""
    subtotal = sum(quantity * unit for _, quantity, unit in lines)
    discount, tax, credit = amounts.get("discount", 0), amounts.get("tax", 0), amounts.get("credit_applied", 0)
    invoice = Invoice(
        id="inv_sample",
        business_id="bus_sample",
        number=amounts.get("number", "NW-0042"),
        status=InvoiceStatus.PAID,
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        credit_applied=credit,
        total=subtotal - discount + tax - credit,
        issued_at=ISSUED,
        billing_details={**buyer_details, "seller": seller},
    )
    rows = [
        InvoiceLine(description=text, position=n, quantity=quantity, unit_amount=unit, amount=quantity * unit)
        for n, (text, quantity, unit) in enumerate(lines)
    ]
    return invoice, rows


def visa() -> Payment:
    return Payment(card_network="visa", card_last_four="4242")


ADA = buyer("Ada Lovelace", "Drottninggatan 1", "Stockholm", "111 51", "SE", tax_id="SE556677889901")
YAMADA = buyer("山田 太郎", "丸の内1-1-1", "千代田区", "100-0005", "JP")
LAYLA = buyer("ليلى حداد", "شارع الملك فهد 12", "الرياض", "12211", "SA")
SAMPLES = {
    "en": sample_invoice(NORTHWIND, ADA, "USD", [("Team plan, monthly", 3, 1200)], tax=288),
    "ja": sample_invoice(SAKURA, YAMADA, "JPY", [("Library Personal 月額プラン", 1, 980)], tax=89),
    "ar": sample_invoice(NORTHWIND, LAYLA, "USD", [("Team plan, monthly", 2, 1200)], discount=240, tax=324),
}


def text_of(pdf: bytes) -> str:
    """The text pypdf extracts, without the control characters it puts in: a NUL before each character of fpdf2's CJK
    font (it reads that font's two-byte codes one byte at a time), a backspace where a Devanagari vowel sign is drawn
    before its consonant."""
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return re.sub(r"[\x00-\x08]", "", text)


def shows(text: str, expected: str) -> bool:
    """Whether extracted text shows `expected`. pypdf gives right-to-left lines in display order (a number ends up
    before the Arabic words it follows), so there every word, number and sign of `expected` must be there."""
    # A no-break space is drawn with the space's glyph, so it comes back as a space.
    text, expected = re.sub(r"\s", " ", text), re.sub(r"\s", " ", expected)
    if not any(unicodedata.bidirectional(char) in {"R", "AL"} for char in expected):
        return expected in text
    pieces = re.findall(r"\d[\d,.]*|\w+|[^\w\s]", expected)
    return all(piece in text for piece in pieces if unicodedata.category(piece[0]) != "Cf")


def drawn_characters(pdf: bytes) -> set[str]:
    """The characters the PDF draws with a glyph: every entry of its fonts' ToUnicode maps. A character no embedded
    font has gets no glyph, so no entry."""
    drawn: set[str] = set()
    for font in embedded_fonts(pdf).values():
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for target in re.findall(r"<[0-9A-F]+> <([0-9A-F]+)>", cmap):
            drawn.update(bytes.fromhex(target).decode("utf-16-be"))
    return drawn - {"\x00"}


def embedded_fonts(pdf: bytes) -> dict[str, dict]:
    """The fonts of every page by name, without the subset prefix (`NotoSansCJKJP`)."""
    fonts = {}
    for page in PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"]).split("+", 1)[-1]] = font
    return fonts


def bundled_cmaps() -> dict[str, set[int]]:
    """Each bundled font file's cmap, by the name fpdf2 gives the font in a PDF."""
    cmaps = {}
    for path in sorted(FONT_DIR.glob("*.[ot]tf")):
        with TTFont(path, lazy=True) as font:
            cmaps[re.sub("[ ()]", "", font["name"].getBestFullName())] = set(font.getBestCmap())
    return cmaps


def without_glyph(pdf: bytes, strings: list[str]) -> set[str]:
    """The characters of `strings` the PDF does not draw: not in the cmap of any font it embeds, or given no glyph."""
    cmaps = bundled_cmaps()
    embedded = set().union(*(cmaps[name] for name in embedded_fonts(pdf)))
    drawn = drawn_characters(pdf)
    wanted = {char for text in strings for char in text if not char.isspace() and unicodedata.category(char) != "Cf"}
    return {char for char in wanted if ord(char) not in embedded or char not in drawn}


def rendered_quietly(caplog: pytest.LogCaptureFixture, render, *args) -> bytes:
    """Render, failing on any warning: fpdf2 logs a glyph missing from a font (logger `fpdf.output`) — though only
    without text shaping, which is why `without_glyph` looks at the PDF itself — and billing.pdf_fonts logs a character
    no bundled face draws; Python warnings (a font added twice…) become errors."""
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pdf = render(*args)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    return pdf


def positions(pdf: bytes) -> list[tuple[str, float]]:
    """Each piece of text the first page shows, with where it starts from the left."""
    found: list[tuple[str, float]] = []

    def visit(text, cm, tm, font, size) -> None:
        if text.strip():
            found.append((text.strip(), tm[4]))

    PdfReader(BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return found


def x_of(pdf: bytes, start: str) -> float:
    return next(x for text, x in positions(pdf) if text.startswith(start))


@pytest.mark.parametrize("locale", ["en", "ja", "ar"])
def test_the_invoice_shows_its_number_total_and_buyer(caplog, locale: str) -> None:
    invoice, lines = SAMPLES[locale]

    text = text_of(rendered_quietly(caplog, render_invoice, invoice, lines, visa(), locale))

    assert invoice.number in text
    assert shows(text, format_money(invoice.total, invoice.currency, locale))
    assert shows(text, invoice.billing_details["name"])
    assert shows(text, translations(locale).gettext("Invoice"))
    assert "Visa •••• 4242" in text and invoice.billing_details["seller"]["name"] in text


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_language_titles_its_invoice_and_draws_each_character(caplog, locale: str) -> None:
    invoice, lines = SAMPLES["en"]
    words = [translations(locale).gettext(label) for label in ("Invoice", "Bill to", "Description", "Total")]

    pdf = rendered_quietly(caplog, render_invoice, invoice, lines, visa(), locale)

    assert without_glyph(pdf, words) == set()
    assert (words[0] == "Invoice") == (locale == "en")


def test_every_amount_line_and_detail_is_on_the_invoice() -> None:
    invoice, lines = sample_invoice(
        NORTHWIND,
        ADA,
        "USD",
        [("Team plan, monthly", 3, 1200), ("Extra seat", 2, 500)],
        discount=460,
        tax=1610,
        credit_applied=250,
    )

    text = text_of(render_invoice(invoice, lines, visa(), "en"))

    for expected in (
        "Team plan, monthly 3 $12.00 $36.00",
        "Extra seat 2 $5.00 $10.00",
        "Subtotal $46.00",
        "Discount -$4.60",
        "Tax $16.10",
        "Credit applied -$2.50",
        "Total $55.00",
        "Invoice number NW-0042",
        "Issue date March 5, 2026",
        "Status Paid",
        "Tax ID: SE556677889901",
        "Drottninggatan 1\n111 51 Stockholm\nSweden",
        "500 Market Street\nSan Francisco, CA 94105",
    ):
        assert expected in text


def test_tax_inside_the_price_is_said_to_be_included() -> None:
    invoice, lines = sample_invoice(SAKURA, YAMADA, "JPY", [("Library Personal", 1, 980)], tax=89)
    invoice.total = invoice.subtotal

    text = text_of(render_invoice(invoice, lines, None, "en"))

    assert "Tax included ¥89" in text and "Total ¥980" in text
    assert "Paid with" not in text


def test_countries_are_named_in_the_readers_language() -> None:
    invoice, lines = SAMPLES["en"]

    assert "スウェーデン" in text_of(render_invoice(invoice, lines, None, "ja"))
    assert "Sverige" in text_of(render_invoice(invoice, lines, None, "sv"))


def test_mixed_scripts_render_with_a_glyph_for_every_character(caplog) -> None:
    other_scripts = [(text, 1, 100) for text in OTHER_SCRIPTS]
    japanese_on_english = sample_invoice(NORTHWIND, YAMADA, "USD", other_scripts)
    arabic_on_swedish = sample_invoice(LUMIERE, LAYLA, "EUR", other_scripts)

    for (invoice, lines), locale in ((japanese_on_english, "en"), (arabic_on_swedish, "sv")):
        pdf = rendered_quietly(caplog, render_invoice, invoice, lines, visa(), locale)
        details = invoice.billing_details
        strings = [details["name"], details["address"]["line1"], details["address"]["city"], *OTHER_SCRIPTS]

        assert without_glyph(pdf, strings) == set()
        text = text_of(pdf)
        assert all(shows(text, string) for string in strings), text


def test_a_character_no_bundled_font_has_is_reported_and_found_missing(caplog) -> None:
    invoice, lines = sample_invoice(
        NORTHWIND, buyer("ሰላም Abebe", "Bole Road", "Addis Ababa", "1000", "ET"), "USD", [("Team plan", 1, 1200)]
    )
    caplog.set_level(logging.WARNING)

    pdf = render_invoice(invoice, lines, None, "en")

    assert "No bundled font draws U+120B, U+121D, U+1230" in caplog.text
    assert without_glyph(pdf, ["ሰላም Abebe"]) == {"ሰ", "ላ", "ም"}


def test_the_same_document_renders_to_the_same_bytes(caplog) -> None:
    invoice, lines = SAMPLES["ja"]

    first = render_invoice(invoice, lines, visa(), "ja")

    assert render_invoice(invoice, lines, visa(), "ja") == first
    assert b"/CreationDate (D:20260305093000+00'00')" in first


def test_another_process_renders_the_same_bytes() -> None:
    """Web processes render independently (and hash strings with their own seeds): a download is the same file
    whichever process answers."""
    invoice, lines = SAMPLES["ar"]
    script = "import sys; from tests.test_invoice_pdf import *; sys.stdout.buffer.write(render_invoice(*SAMPLES['ar'], visa(), 'ar'))"  # noqa: E501
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}

    other = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, check=True)

    assert other.stdout == render_invoice(invoice, lines, visa(), "ar")


@pytest.mark.parametrize("locale", ["en", "ja", "ar"])
def test_a_pdf_stays_small(locale: str) -> None:
    every_script = sample_invoice(NORTHWIND, LAYLA, "USD", [(text, 1, 100) for text in (*OTHER_SCRIPTS, "山田")])

    for invoice, lines in (SAMPLES[locale], every_script):
        assert len(render_invoice(invoice, lines, visa(), locale)) < MAX_BYTES


@pytest.mark.parametrize(("locale", "labels_right_of_values"), [("en", False), ("ar", True)])
def test_right_to_left_languages_mirror_the_layout(locale: str, labels_right_of_values: bool) -> None:
    invoice, lines = SAMPLES["en"]

    pdf = render_invoice(invoice, lines, visa(), locale)

    words = translations(locale).gettext
    assert (x_of(pdf, words("Invoice number")) > x_of(pdf, "NW")) is labels_right_of_values
    assert (x_of(pdf, "Northwind") > x_of(pdf, words("Invoice"))) is labels_right_of_values


def sample_credit_note(locale_reason: str = "Bought twice by mistake") -> tuple[Refund, Invoice]:
    invoice, _ = sample_invoice(LUMIERE, ADA, "EUR", [("Nocturne, desktop licence", 1, 4900)], number="AL-0007")
    refund = Refund(
        id="ref_sample",
        amount=4900,
        currency="EUR",
        reason=locale_reason,
        credit_note_number="AL-CN-0001",
        issued_at=REFUNDED,
    )
    return refund, invoice


@pytest.mark.parametrize("locale", ["en", "sv", "ja", "ar"])
def test_the_credit_note_names_the_invoice_it_corrects_the_amount_and_why(caplog, locale: str) -> None:
    refund, invoice = sample_credit_note()

    text = text_of(rendered_quietly(caplog, render_credit_note, refund, invoice, visa(), locale))

    assert "AL-CN-0001" in text and "AL-0007" in text
    assert shows(text, format_money(4900, "EUR", locale))
    assert "Bought twice by mistake" in text and "Ada Lovelace" in text
    assert shows(text, translations(locale).gettext("Credit note"))


# The download routes, with rows in the database.


def assert_pdf_download(answer, filename: str) -> str:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.content.startswith(b"%PDF-")
    return text_of(answer.content)


async def test_a_signed_in_customer_downloads_the_invoice_by_cookie_or_bearer_token(client) -> None:
    customer, invoice, _ = await issued_invoice()
    token = await business_token(customer)

    by_bearer = await client.get(f"/invoices/{invoice.id}/pdf", headers={"Authorization": f"Bearer {token}"})
    client.cookies.set("portal_session", token)
    by_cookie = await client.get(f"/invoices/{invoice.id}/pdf")
    in_japanese = await client.get(f"/invoices/{invoice.id}/pdf?locale=ja")

    assert "NW-0001" in assert_pdf_download(by_bearer, "NW-0001.pdf")
    assert by_cookie.content == by_bearer.content
    text = assert_pdf_download(in_japanese, "NW-0001.pdf")
    assert "請求書" in text and "$61.25" in text and "スウェーデン" in text


async def test_the_credit_note_pdf_holds_its_number_and_the_invoice_it_corrects(client) -> None:
    customer, invoice, payment = await issued_invoice()
    refund = await record_refund(payment, 2000, "Bought twice by mistake", REFUNDED, context=billing_context())
    client.cookies.set("portal_session", await business_token(customer))

    text = assert_pdf_download(await client.get(f"/credit-notes/{refund.id}/pdf"), "NW-CN-0001.pdf")

    assert "NW-CN-0001" in text and "Corrects invoice NW-0001" in text
    assert "Amount refunded $20.00" in text and "Bought twice by mistake" in text


async def test_foreign_missing_and_malformed_ids_get_the_same_not_found_page(client) -> None:
    mine, my_invoice, _ = await issued_invoice()
    _, their_invoice, their_payment = await issued_invoice("Sakura Fonts", "SF", email="eve@example.com")
    their_refund = await record_refund(their_payment, 100, "", REFUNDED, context=billing_context())
    client.cookies.set("portal_session", await business_token(mine))
    await client.get("/invoices/inv_missing/pdf")  # the first answer sets the visitor cookie; the rest compare equal

    answers = []
    for path, asked in (
        ("/invoices/{}/pdf", their_invoice.id),
        ("/invoices/{}/pdf", "inv_missing"),
        ("/invoices/{}/pdf", "x" * 41),
        ("/invoices/{}/pdf", "inv_%C3%A9"),
        ("/credit-notes/{}/pdf", their_refund.id),
        ("/credit-notes/{}/pdf", "ref_missing"),
        ("/credit-notes/{}/pdf", my_invoice.id),
    ):
        answer = await client.get(path.format(asked))
        # The page's language links repeat the path asked for.
        page = without_noise(answer, unquote(asked)).replace(path.format("ID"), "PATH")
        answers.append((answer.status_code, answer.headers["content-type"], page))

    assert answers[0][:2] == (404, "text/html; charset=utf-8")
    assert all(answer == answers[0] for answer in answers)


async def test_without_a_session_a_browser_signs_in_and_a_client_gets_401(client) -> None:
    _, invoice, _ = await issued_invoice()
    path = f"/invoices/{invoice.id}/pdf"

    browser = await client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    api_client = await client.get(path, headers={"Accept": "application/pdf"})
    stale_token = await client.get(path, headers={"Authorization": "Bearer cps_revoked", "Accept": "text/html"})

    assert (browser.status_code, browser.headers["location"]) == (303, "/login")
    assert (api_client.status_code, api_client.headers["www-authenticate"]) == (401, "Bearer")
    assert (stale_token.status_code, stale_token.headers["www-authenticate"]) == (401, 'Bearer error="invalid_token"')
    assert b"%PDF" not in api_client.content + stale_token.content


async def test_pdf_urls_in_graphql_lead_to_the_documents(client) -> None:
    customer, invoice, payment = await issued_invoice()
    refund = await record_refund(payment, 2000, "Bought twice by mistake", REFUNDED, context=billing_context())
    token = await unified_token(customer.email)
    query = """{ viewer { invoices(first: 5) { nodes {
      number pdfUrl discount { formatted } creditApplied { formatted }
      refunds { id number amount { formatted } reason issuedAt pdfUrl }
    } } } }"""

    data = (await graphql(client, token, query))["data"]["viewer"]["invoices"]["nodes"][0]
    bearer = {"Authorization": f"Bearer {token}"}

    assert data["pdfUrl"] == f"/invoices/{invoice.id}/pdf"
    assert (data["discount"]["formatted"], data["creditApplied"]["formatted"]) == ("$0.00", "$0.00")
    assert data["refunds"] == [
        {
            "id": refund.id,
            "number": "NW-CN-0001",
            "amount": {"formatted": "$20.00"},
            "reason": "Bought twice by mistake",
            "issuedAt": "2026-03-09T14:00:00+00:00",
            "pdfUrl": f"/credit-notes/{refund.id}/pdf",
        }
    ]
    assert "NW-0001" in assert_pdf_download(await client.get(data["pdfUrl"], headers=bearer), "NW-0001.pdf")
    credit_note = await client.get(data["refunds"][0]["pdfUrl"], headers=bearer)
    assert "NW-CN-0001" in assert_pdf_download(credit_note, "NW-CN-0001.pdf")
    node = await graphql(client, token, f'{{ node(id: "{refund.id}") {{ ... on CreditNote {{ number }} }} }}')
    assert node["data"]["node"] == {"number": "NW-CN-0001"}


async def test_credit_notes_of_a_page_of_invoices_cost_the_same_statements(client, count_statements) -> None:
    query = "{ viewer { invoices(first: 50) { nodes { number refunds { number amount { formatted } pdfUrl } } } } }"

    async def statements(token: str, invoices: int) -> int:
        with count_statements() as counter:
            result = await graphql(client, token, query)
        assert len(result["data"]["viewer"]["invoices"]["nodes"]) == invoices
        assert all(len(node["refunds"]) == 1 for node in result["data"]["viewer"]["invoices"]["nodes"])
        return counter.count

    _, _, payment = await issued_invoice()
    await record_refund(payment, 100, "", REFUNDED, context=billing_context())
    one = await statements(await unified_token("ada@example.com"), 1)
    for n in range(5):
        _, _, payment = await issued_invoice(f"Shop {n}", f"S{n}")
        await record_refund(payment, 100, "", REFUNDED, context=billing_context())

    assert await statements(await unified_token("ada@example.com"), 6) == one


@pytest.mark.skipif(not os.environ.get("PORTAL_REFRESH_SCREENSHOTS"), reason="set PORTAL_REFRESH_SCREENSHOTS=1")
def test_write_the_screenshots(tmp_path: Path) -> None:
    refund, corrected = sample_credit_note("Bought twice by mistake")
    documents = {
        "invoice-ja": render_invoice(*SAMPLES["ja"], visa(), "ja"),
        "invoice-ar": render_invoice(*SAMPLES["ar"], visa(), "ar"),
        "credit-note-sv": render_credit_note(refund, corrected, visa(), "sv"),
    }
    for name, pdf in documents.items():
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", "-singlefile", tmp_path / f"{name}.pdf", SCREENSHOTS / name], check=True
        )


def test_the_buyers_phone_reads_as_people_write_it() -> None:
    ada = buyer("Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH", "GB", phone_number="+442079460958")
    invoice, lines = sample_invoice(NORTHWIND, ada, "GBP", [("Team plan, monthly", 1, 4900)])

    assert "+44 20 7946 0958" in text_of(render_invoice(invoice, lines, visa(), "en"))


async def test_a_session_renders_a_bounded_number_of_documents_a_minute(client) -> None:
    customer, invoice, _ = await issued_invoice()
    busy, other = await business_token(customer), await business_token(customer)
    limit = PDF_RENDERS_PER_SESSION.limit

    answers = [
        await client.get("/invoices/inv_missing/pdf", headers={"Authorization": f"Bearer {busy}"}) for _ in range(limit)
    ]
    refused = await client.get(f"/invoices/{invoice.id}/pdf", headers={"Authorization": f"Bearer {busy}"})
    elsewhere = await client.get(f"/invoices/{invoice.id}/pdf", headers={"Authorization": f"Bearer {other}"})

    assert {answer.status_code for answer in answers} == {404}
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(PDF_RENDERS_PER_SESSION.window_seconds)
    assert "Too many requests" in refused.text
    assert elsewhere.status_code == 200
