"""Billing history and purchases pages: every invoice a page at a time, newest first, narrowed by business and
status, with PDFs and credit notes; purchases with their keys and receipts; scope, bad filters and the statements a
page costs."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from billing.refunds import record_refund
from models import Invoice
from models.enums import InvoiceStatus
from tests.support.billing import billing_context
from tests.support.factories import Owned, business, business_token, customer_with_history, unified_token

INVOICE_NUMBER = re.compile(r'<bdi class="title">([^<]+)</bdi>')
OLDER = re.compile(r'href="(/billing-history\?[^"]*after=[^"]+)">Older<')
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def same_page(page: httpx.Response) -> str:
    """A page without its CSP nonce and the language switcher, which repeats the address that was asked."""
    return re.sub(r'nonce="[^"]+"|<form class="languages".*?</form>', "", page.text, flags=re.S)


def numbers(page: httpx.Response) -> list[str]:
    return INVOICE_NUMBER.findall(page.text)


def newest_first(*owners: Owned) -> list[str]:
    invoices = [invoice for owned in owners for invoice in owned.invoices]
    return [invoice.number for invoice in sorted(invoices, key=lambda i: (i.created_at, i.id), reverse=True)]


async def receipt_of(owned: Owned) -> Invoice:
    """The purchase's invoice, as billing issues one when a payment succeeds."""
    purchase = owned.purchases[0]
    return await Invoice.create(
        business_id=purchase.business_id,
        livemode=True,
        customer=owned.customer,
        payment_id=purchase.id,
        number=f"R-{purchase.id[-6:]}",
        status=InvoiceStatus.PAID,
        currency="USD",
        subtotal=4900,
        total=4900,
        issued_at=NOW,
        created_at=NOW,
    )


async def test_the_unified_history_pages_through_every_invoice_newest_first(http) -> None:
    mine = [await customer_with_history(await business(name), "paging@example.com", scale=9) for name in "AB"]
    await customer_with_history(await business("Other"), "someone-else@example.com")
    http.cookies.set("portal_session", await unified_token("paging@example.com"))

    seen, page = [], await http.get("/billing-history")
    while True:
        assert page.status_code == 200
        seen += numbers(page)
        older = OLDER.search(page.text)
        if older is None:
            break
        page = await http.get(older[1].replace("&amp;", "&"))

    assert seen == newest_first(*mine)
    assert len(seen) == 54


async def test_the_history_narrows_to_a_business_and_a_status(http) -> None:
    a, b = [await customer_with_history(await business(name), "filters@example.com", scale=2) for name in "AB"]
    receipt = await receipt_of(a)
    refund = await record_refund(a.purchases[0], 900, "Damaged file", NOW, context=billing_context())
    http.cookies.set("portal_session", await unified_token("filters@example.com"))

    only_a = await http.get("/billing-history", params={"business": a.customer.business_id})
    assert numbers(only_a) == [receipt.number, *newest_first(a)]
    refunded = await http.get("/billing-history", params={"status": "partially_refunded"})
    assert numbers(refunded) == [receipt.number]
    assert refund.credit_note_number in refunded.text
    assert f'href="/credit-notes/{refund.id}/pdf"' in refunded.text
    paid_at_b = await http.get("/billing-history", params={"status": "paid", "business": b.customer.business_id})
    assert numbers(paid_at_b) == newest_first(b)
    nothing = await http.get("/billing-history", params={"status": "void"})
    assert numbers(nothing) == [] and "No invoices match." in nothing.text


async def test_every_invoice_row_offers_its_pdf(http) -> None:
    owned = await customer_with_history(await business("Pdf Shop"), "rows@example.com")
    http.cookies.set("portal_session", await business_token(owned.customer))
    page = await http.get("/billing-history")
    for invoice in owned.invoices:
        assert f'href="/invoices/{invoice.id}/pdf"' in page.text
    assert page.text.count("Download PDF") == len(owned.invoices)


@pytest.mark.parametrize(
    "query",
    [
        {"business": "bus_other"},
        {"business": "bus_nope"},
        {"business": "x" * 41},
        {"after": "not-a-cursor"},
    ],
)
async def test_a_business_outside_the_scope_or_a_bad_cursor_is_not_found(http, query) -> None:
    mine = await customer_with_history(await business("Mine"), "scope@example.com")
    other = await customer_with_history(await business("Theirs"), "theirs@example.com")
    query = {k: other.customer.business_id if v == "bus_other" else v for k, v in query.items()}
    http.cookies.set("portal_session", await unified_token("scope@example.com"))
    missing = await http.get("/purchases", params={"business": "bus_missing"})
    for path in ("/billing-history", "/purchases"):
        page = await http.get(path, params=query)
        assert page.status_code == 404
        assert same_page(page) == same_page(missing)
        assert other.invoices[0].number not in page.text and mine.invoices[0].number not in page.text


async def test_a_business_session_sees_only_its_business(http) -> None:
    here = await customer_with_history(await business("Here"), "one@example.com")
    elsewhere = await customer_with_history(await business("Elsewhere"), "one@example.com")
    http.cookies.set("portal_session", await business_token(here.customer))
    page = await http.get("/billing-history", params={"business": elsewhere.customer.business_id})
    assert numbers(page) == newest_first(here)
    assert 'id="filter-business"' not in page.text


async def test_purchases_show_items_keys_and_the_receipt(http) -> None:
    owned = await customer_with_history(await business("Keys Shop"), "buyer@example.com")
    receipt = await receipt_of(owned)
    refund = await record_refund(owned.purchases[0], 4900, "Returned", NOW, context=billing_context())
    http.cookies.set("portal_session", await business_token(owned.customer))
    page = await http.get("/purchases")
    assert page.status_code == 200
    assert "Keys Shop App" in page.text
    key = owned.license_keys[0]
    assert f'href="/license-keys/{key.id}"' in page.text and key.key in page.text
    assert f'href="/invoices/{receipt.id}/pdf"' in page.text
    assert refund.credit_note_number in page.text
    assert "Disabled" in page.text, "a full refund disables the purchase's license key"


async def test_the_history_page_costs_the_same_statements_whatever_the_rows(http, count_statements) -> None:
    async def statements(email: str, scale: int) -> int:
        for name in ("One", "Two"):
            await customer_with_history(await business(f"{name} {scale}"), email, scale=scale)
        http.cookies.set("portal_session", await unified_token(email))
        with count_statements() as counter:
            assert (await http.get("/billing-history")).status_code == 200
        return counter.count

    assert await statements("few@example.com", 1) == await statements("many@example.com", 6)
