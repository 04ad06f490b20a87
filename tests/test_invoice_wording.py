"""What an invoice says about itself (issue 23 item 8): a plan change's invoice is summarised by the change in the
reader's language, its proration lines carry their dates and not the quantity, and the invoice shows the tax rate
it was issued at, the seller's tax ID (set by the CLI and the merchant API, checked, frozen at issue) and the
customer's."""

import re
from pathlib import Path

import httpx
import pytest
from babel.dates import format_interval
from tortoise.context import TortoiseContext

from billing import plan_changes
from billing.invoice_pdf import render_invoice
from billing.line_wording import invoice_summary
from billing.plan_changes import change_plan
from core.i18n import format_rate
from models import Business, Customer, Invoice, InvoiceLine, Payment
from models.database import tortoise_config
from tests.support.billing import with_plans
from tests.support.cli import portal
from tests.support.customer_graphql import run
from tests.support.factories import business_token
from tests.support.invoices import issued_invoice
from tests.support.merchant import Merchant, call
from tests.support.plans import NOW, PERIOD_END, UPDATES, plan_shop
from tests.test_business_cli import create_kumo
from tests.test_invoice_pdf import text_of
from tests.test_subscription_pages import active_shop, confirm_form, preview, signed_in

INVOICE = """
query($id: ID!) {
  node(id: $id) {
    ... on Invoice {
      summary taxRate { basisPoints formatted } taxIncluded sellerTaxId customerTaxId lines { description quantity }
    }
  }
}
"""
UPDATE_TAX_ID = """
mutation($input: BusinessInput!) {
  updateBusiness(input: $input) { business { taxId } errors { code field message } }
}
"""


@pytest.fixture
def frozen(monkeypatch) -> None:
    monkeypatch.setattr(plan_changes, "utcnow", lambda: NOW)


async def upgraded(context) -> tuple[Customer, Invoice]:
    """Library Team → Library Studio, two thirds into the period, on a business and by a customer that have VAT
    numbers."""
    ps = await plan_shop(context)
    await Business.filter(id=ps.shop.business.id).update(tax_id="FR40303265045", address_country="FR")
    await Customer.filter(id=ps.shop.customer.id).update(tax_id="SE556677889901")
    change = await change_plan(
        ps.subscription, ps.studio.id, None, client_key="up", method=None, features=UPDATES, context=context
    )
    return ps.shop.customer, await Invoice.get(payment_id=change.payment.id)


async def test_an_upgrade_invoice_says_what_happened_in_the_readers_language(context, frozen) -> None:
    customer, invoice = await upgraded(context)
    token = await business_token(customer)

    english = (await run(token, INVOICE, "en", id=invoice.id))["node"]
    hebrew = (await run(token, INVOICE, "he", id=invoice.id))["node"]
    german = (await run(token, INVOICE, "de", id=invoice.id))["node"]

    assert english["summary"] == "Upgrade: Library Team → Library Studio"
    # The names set apart from the right-to-left sentence; the sentence itself as the catalog says it (the lead
    # translates new strings on merge).
    assert "\u2068Library Team\u2069" in hebrew["summary"] and "\u2068Library Studio\u2069" in hebrew["summary"]
    german_days = format_interval(NOW.date(), PERIOD_END.date(), "yMMMd", locale="de")
    assert [line["description"] for line in german["lines"]][1] == f"Library Studio ({german_days})"
    assert invoice.summary == {"kind": "upgrade", "from": "Library Team", "to": "Library Studio"}


async def test_proration_lines_carry_their_dates_and_leave_the_quantity_to_its_column(context, frozen) -> None:
    customer, invoice = await upgraded(context)

    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")

    days = format_interval(NOW.date(), PERIOD_END.date(), "yMMMd", locale="en")
    assert [(line.description, line.quantity) for line in lines] == [
        (f"Unused time on Library Team ({days})", 1),
        (f"Library Studio ({days})", 1),
    ]
    shown = (await run(await business_token(customer), INVOICE, "en", id=invoice.id))["node"]["lines"]
    assert all("×" not in line["description"] for line in shown)


def test_older_invoices_keep_todays_summary_and_lose_the_repeated_quantity() -> None:
    older_change = [("Unused time on Team × 1", {"kind": "unused_time", "product": "Team", "quantity": 1})]
    purchase = [("Nocturne", None), ("Field Guide", None)]

    assert invoice_summary(None, older_change, "en") == "Unused time on Team"
    assert invoice_summary(None, purchase, "en") == "Nocturne and Field Guide"
    assert invoice_summary(None, [], "en") == ""


async def test_the_invoice_shows_the_rate_and_both_tax_ids_it_was_issued_with(context, frozen) -> None:
    customer, invoice = await upgraded(context)
    # Later edits change no issued invoice.
    await Customer.filter(id=customer.id).update(tax_id="")
    await Business.filter(id=invoice.business_id).update(tax_id="", tax_rate_bp=0)

    shown = (await run(await business_token(customer), INVOICE, "de", id=invoice.id))["node"]

    assert (invoice.tax_rate_bp, shown["taxRate"]) == (1000, {"basisPoints": 1000, "formatted": "10\xa0%"})
    assert (shown["taxIncluded"], shown["sellerTaxId"], shown["customerTaxId"]) == (
        True,
        "FR40303265045",
        "SE556677889901",
    )


async def test_the_pdf_prints_the_tax_rate_and_the_sellers_tax_id(context, frozen) -> None:
    _, invoice = await upgraded(context)
    lines = await InvoiceLine.filter(invoice_id=invoice.id).order_by("position")
    payment = await Payment.get(id=invoice.payment_id)

    english = text_of(render_invoice(invoice, lines, payment, "en"))
    german = text_of(render_invoice(invoice, lines, payment, "de"))

    assert "Tax included 10%" in english and "Tax ID: FR40303265045" in english
    assert "10 %" in german and "FR40303265045" in german


async def test_an_invoice_issued_before_rates_were_kept_shows_its_tax_without_one() -> None:
    _, invoice, payment = await issued_invoice()
    await Invoice.filter(id=invoice.id).update(tax_rate_bp=None)
    invoice = await Invoice.get(id=invoice.id)

    text = text_of(render_invoice(invoice, await InvoiceLine.filter(invoice_id=invoice.id), payment, "en"))

    assert "Tax " in text and "%" not in text


async def test_the_cli_sets_and_clears_a_business_tax_id(migrated_database: str, tmp_path: Path) -> None:
    business_id = create_kumo(migrated_database, tmp_path)

    set_ = portal(
        "business", "update", business_id, "--country=DE", "--tax-id= de 136695976 ", **_db(migrated_database, tmp_path)
    )
    refused = portal("business", "update", business_id, "--tax-id=DE000", **_db(migrated_database, tmp_path))

    assert set_.returncode == 0, set_.stderr
    assert (
        refused.returncode == 1 and "not a valid tax ID for DE" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert await _tax_id(migrated_database, business_id) == "DE136695976"
    cleared = portal("business", "update", business_id, "--tax-id=", **_db(migrated_database, tmp_path))
    assert cleared.returncode == 0 and await _tax_id(migrated_database, business_id) == ""


def _db(database_url: str, cwd: Path) -> dict:
    return {"database_url": database_url, "cwd": cwd}


async def _tax_id(database_url: str, business_id: str) -> str:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return (await Business.get(id=business_id)).tax_id


async def test_the_merchant_api_sets_a_tax_id_checked_for_the_business_country(
    client: httpx.AsyncClient, acme: Merchant
) -> None:
    data = await call(client, acme.live, UPDATE_TAX_ID, input={"addressCountry": "FR", "taxId": " fr 40303265045 "})

    assert data["updateBusiness"] == {"business": {"taxId": "FR40303265045"}, "errors": []}
    assert (await Business.get(id=acme.business.id)).tax_id == "FR40303265045"


@pytest.mark.parametrize("tax_id", ["FR00000000000", "x" * 51, "FR403\n03265045"])
async def test_a_bad_tax_id_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, acme: Merchant, tax_id: str
) -> None:
    await Business.filter(id=acme.business.id).update(address_country="FR", tax_id="FR40303265045")

    data = await call(client, acme.live, UPDATE_TAX_ID, input={"taxId": tax_id, "name": "Renamed"})

    assert data["updateBusiness"]["business"] is None
    assert [(error["code"], error["field"]) for error in data["updateBusiness"]["errors"]] == [
        ("INVALID_INPUT", "taxId")
    ]
    business = await Business.get(id=acme.business.id)
    assert (business.tax_id, business.name) == ("FR40303265045", "Acme")


async def test_another_business_invoice_answers_like_a_missing_one(context, frozen) -> None:
    _, invoice = await upgraded(context)
    stranger, _, _ = await issued_invoice(name="Other Shop", prefix="OS")

    answer = await run(await business_token(stranger), INVOICE, "en", id=invoice.id)

    assert answer["node"] is None


async def test_the_pages_summarise_the_upgrade_and_its_receipt_shows_the_rate_and_both_tax_ids(http, context) -> None:
    shop = await active_shop(context)
    _, current, bigger = await with_plans(shop)
    await Business.filter(id=shop.business.id).update(tax_id="FR40303265045")
    await Customer.filter(id=shop.customer.id).update(tax_id="SE556677889901")
    path = await signed_in(http, shop)

    changed = await http.post(f"{path}/change-plan", data=confirm_form(await preview(http, path, bigger.id), bigger.id))
    receipt = await http.get(changed.headers["location"])
    history = await http.get("/billing-history")

    rate = format_rate(shop.business.tax_rate_bp, "en")
    assert re.search(rf"<dt>Tax( included)? {re.escape(rate)}</dt>", receipt.text)
    assert "Tax ID: FR40303265045" in receipt.text and "Tax ID: SE556677889901" in receipt.text
    summary = f"Upgrade: {current.name} → {bigger.name}"
    assert summary in history.text and summary in (await http.get(path)).text
