"""Billing history and purchases pages: every invoice, failed payment and amount owed a page at a time both ways,
newest first, with the count, narrowed by business and status (Failed and Open too), with PDFs and credit notes and
what can be paid; purchases with their keys and receipts; scope, bad filters and the statements a page costs."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from access.sessions import viewer_for_token
from billing.refunds import record_refund
from core.i18n import format_count, format_day
from models import Business, Invoice, Subscription
from models.enums import InvoiceStatus, PaymentPurpose, SubscriptionStatus
from schema.customer import build_context, schema
from tests.support.billing import Subscriber, billing_context, failed_payment, subscriber
from tests.support.customer_graphql import run
from tests.support.factories import (
    POLICY,
    Owned,
    business,
    business_token,
    customer_with_history,
    unified_token,
    with_problems,
)

INVOICE_NUMBER = re.compile(r'<bdi class="title">([^<]+)</bdi>')
NEXT = re.compile(r'rel="next" href="(/billing-history\?[^"]*after=[^"]+)">Next<')
PREVIOUS = re.compile(r'rel="prev" href="(/billing-history\?[^"]*before=[^"]+)">Previous<')
PAGE_COUNT = re.compile(r'class="meta page-count">([^<]+)<')
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def same_page(page: httpx.Response) -> str:
    """A page without its CSP nonce and the language switcher, which repeats the address that was asked."""
    return re.sub(r'nonce="[^"]+"|<details class="languages".*?</details>', "", page.text, flags=re.S)


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


def follow(page: httpx.Response, link: re.Pattern) -> str | None:
    found = link.search(page.text)
    return found[1].replace("&amp;", "&") if found else None


async def test_the_unified_history_pages_both_ways_with_the_count(http) -> None:
    mine = [await customer_with_history(await business(name), "paging@example.com", scale=9) for name in "AB"]
    await customer_with_history(await business("Other"), "someone-else@example.com")
    http.cookies.set("portal_session", await unified_token("paging@example.com"))
    # 54 invoices, and 6 subscriptions on hold whose dues are owed, the newest entries (due a month after EPOCH).
    forward, counts, page = [], [], await http.get("/billing-history")
    while True:
        assert page.status_code == 200
        forward.append(numbers(page))
        counts.append(PAGE_COUNT.search(page.text)[1])
        if (later := follow(page, NEXT)) is None:
            break
        page = await http.get(later)
    backward = [numbers(page)]
    while (earlier := follow(page, PREVIOUS)) is not None:
        page = await http.get(earlier)
        backward.append(numbers(page))

    assert [number for shown in forward for number in shown] == newest_first(*mine)
    assert counts == ["1–20 of 60", "21–40 of 60", "41–60 of 60"]
    assert backward == forward[::-1]
    assert PAGE_COUNT.search(page.text)[1] == "1–20 of 60" and PREVIOUS.search(page.text) is None
    assert page.text.count("Pay now") == 6


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
    assert numbers(nothing) == [] and "Nothing matches." in nothing.text


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
    assert "Disabled by <bdi>Keys Shop</bdi>" in page.text, "a full refund disables the purchase's license key"
    title = page.text.split('<li class="row document">')[1].split('<p class="meta">')[0]
    assert '<span class="badge">Refunded</span>' in title


async def test_the_history_page_costs_the_same_statements_whatever_the_rows(http, count_statements) -> None:
    async def statements(email: str, scale: int) -> tuple[int, int]:
        for name in ("One", "Two"):
            await with_problems(await customer_with_history(await business(f"{name} {scale}"), email, scale=scale))
        http.cookies.set("portal_session", await unified_token(email))
        with count_statements() as counter:
            assert (await http.get("/billing-history")).status_code == 200
        second_page = follow(await http.get("/billing-history"), NEXT)
        assert second_page is not None
        with count_statements() as later:
            assert (await http.get(second_page)).status_code == 200
        return counter.count, later.count

    few, many = await statements("few@example.com", 3), await statements("many@example.com", 18)
    assert few == many


ENTRY = re.compile(r'<li class="row document">.*?</li>', re.S)
HISTORY = """
query($status: [BillingHistoryStatus!], $first: Int, $after: String, $last: Int, $before: String, $business: ID) {
  viewer { billingHistory(
    status: $status, first: $first, after: $after, last: $last, before: $before, businessId: $business
  ) {
    totalCount offset pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id status amount { formatted } payment { errorMessage } subscription { id status } }
  } }
}"""


def entries(page: httpx.Response) -> list[str]:
    """Each row of the history, as its text without tags and runs of spaces."""
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in ENTRY.findall(page.text)]


async def troubles(context) -> tuple[Subscriber, Subscriber, Invoice]:
    """Ada at Sakura Fonts, on hold since a renewal failed after a paid one, and at Northwind, whose first payment
    failed; Bob's failed payment at a third business."""
    sakura = await subscriber(context, status=SubscriptionStatus.ON_HOLD)
    paid = await Invoice.create(
        business=sakura.business,
        livemode=True,
        customer=sakura.customer,
        subscription=sakura.subscription,
        number="SF-0001",
        status=InvoiceStatus.PAID,
        currency="JPY",
        subtotal=980,
        total=980,
        issued_at=NOW - timedelta(days=40),
        created_at=NOW - timedelta(days=40),
    )
    await failed_payment(sakura, PaymentPurpose.RENEWAL, NOW - timedelta(days=10))
    northwind = await subscriber(context, status=SubscriptionStatus.FAILED, business_name="Northwind")
    await failed_payment(northwind, PaymentPurpose.SUBSCRIPTION_CREATE, NOW - timedelta(days=5))
    bob = await subscriber(context, status=SubscriptionStatus.FAILED, email="bob@example.com", business_name="Bob's")
    await failed_payment(bob, PaymentPurpose.SUBSCRIPTION_CREATE, NOW - timedelta(days=1))
    return sakura, northwind, paid


async def test_failed_payments_and_what_is_owed_are_listed_beside_invoices_and_payable(http, context) -> None:
    sakura, northwind, paid = await troubles(context)
    http.cookies.set("portal_session", await unified_token("ada@example.com"))
    due = format_day(sakura.subscription.next_billing_date, "en")

    everything = await http.get("/billing-history")
    failed = await http.get("/billing-history", params={"status": "failed"})
    owed = await http.get("/billing-history", params={"status": "open"})

    pay_now = f'href="/subscriptions/{sakura.subscription.id}#reactivate-title"'
    try_again = f'href="/subscriptions/{northwind.subscription.id}#again-title"'
    assert entries(failed) == [
        f"Library Personal Failed Tried on {format_day(NOW - timedelta(days=5), 'en')} · Northwind · "
        "Your card was declined. ¥980 Try again",
        f"Library Personal Failed Tried on {format_day(NOW - timedelta(days=10), 'en')} · Sakura Fonts · "
        "Your card was declined. ¥980",
    ]
    # What is owed is offered once, as the open amount, not again beside the renewal that failed.
    assert try_again in failed.text and pay_now not in failed.text and pay_now in owed.text
    assert entries(owed) == [f"Library Personal Open Due since {due} · Sakura Fonts ¥980 Pay now"]
    assert [row.split(" ")[0] for row in entries(everything)] == ["Library", "Library", "Library", paid.number]
    assert PAGE_COUNT.search(everything.text)[1] == "1–4 of 4"
    assert "Bob" not in everything.text
    assert (await http.get("/billing-history", params={"before": "not-a-cursor"})).status_code == 404


async def test_the_schema_pages_the_history_back_from_a_cursor_and_refuses_both_directions(context) -> None:
    sakura, northwind, paid = await troubles(context)
    session = await unified_token("ada@example.com")

    first = (await run(session, HISTORY, first=2))["viewer"]["billingHistory"]
    second = (await run(session, HISTORY, first=2, after=first["pageInfo"]["endCursor"]))["viewer"]["billingHistory"]
    back = (await run(session, HISTORY, last=2, before=second["pageInfo"]["startCursor"]))["viewer"]["billingHistory"]
    failed = (await run(session, HISTORY, status=["FAILED"]))["viewer"]["billingHistory"]

    assert (first["totalCount"], first["offset"], second["offset"], back["offset"]) == (4, 0, 2, 0)
    assert back["nodes"] == first["nodes"]
    assert first["pageInfo"]["hasPreviousPage"] is False and second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False and [node["id"] for node in second["nodes"]][-1] == paid.id
    assert [(node["status"], node["subscription"]["status"]) for node in failed["nodes"]] == [
        ("FAILED", "FAILED"),
        ("FAILED", "ON_HOLD"),
    ]
    assert first["nodes"][0] == {
        "id": sakura.subscription.id,
        "status": "OPEN",
        "amount": {"formatted": "¥980"},
        "payment": None,
        "subscription": {"id": sakura.subscription.id, "status": "ON_HOLD"},
    }
    assert failed["nodes"][0]["payment"] == {"errorMessage": "Your card was declined."}
    assert northwind.subscription.id == failed["nodes"][0]["subscription"]["id"]
    viewer = await viewer_for_token(session, POLICY)
    both = await schema.execute(
        HISTORY,
        variable_values={"first": 2, "last": 2},
        context_value=build_context(viewer, "en", "req_test"),
    )
    assert both.errors and "not both" in both.errors[0].message
    bad = await schema.execute(
        HISTORY, variable_values={"before": "nope"}, context_value=build_context(viewer, "en", "req_test")
    )
    assert bad.errors and bad.errors[0].message == "`before` is not a cursor this API handed out."


def test_the_count_is_written_as_the_reader_writes_numbers() -> None:
    assert (format_count(1234, "en"), format_count(1234, "de"), format_count(1234, "fr")) == (
        "1,234",
        "1.234",
        "1\u202f234",
    )


async def test_the_schema_answers_a_foreign_business_like_a_missing_one(context) -> None:
    await troubles(context)
    session = await unified_token("ada@example.com")
    bobs = await Business.get(name="Bob's")

    foreign = (await run(session, HISTORY, business=bobs.id))["viewer"]["billingHistory"]
    missing = (await run(session, HISTORY, business="bus_missing"))["viewer"]["billingHistory"]

    assert foreign == missing
    assert foreign["totalCount"] == 0 and foreign["nodes"] == []


async def test_a_failed_first_payment_is_not_tried_again_once_a_new_subscription_replaced_it(http, context) -> None:
    _, northwind, _ = await troubles(context)
    http.cookies.set("portal_session", await unified_token("ada@example.com"))
    try_again = f'href="/subscriptions/{northwind.subscription.id}#again-title"'
    assert try_again in (await http.get("/billing-history", params={"status": "failed"})).text

    await Subscription.create(
        business=northwind.business,
        livemode=True,
        customer=northwind.customer,
        product_id=northwind.subscription.product_id,
        status=SubscriptionStatus.ACTIVE,
        recurring_pre_tax_amount=980,
        currency="JPY",
        previous_billing_date=NOW,
        next_billing_date=NOW + timedelta(days=30),
    )
    page = await http.get("/billing-history", params={"status": "failed"})

    assert len(entries(page)) == 2 and try_again not in page.text and "Try again" not in page.text


async def test_a_renewal_being_retried_is_owed_and_payable_from_the_history(http, context) -> None:
    """The home's banner says a past-due renewal is owed with Pay now; the history's Open filter lists it too."""
    due = NOW - timedelta(days=3)
    retrying = await subscriber(
        context,
        status=SubscriptionStatus.ACTIVE,
        next_billing_date=due,
        renewal_attempts=2,
        next_retry_at=NOW + timedelta(days=4),
    )
    await failed_payment(retrying, PaymentPurpose.RENEWAL, due)
    http.cookies.set("portal_session", await unified_token("ada@example.com"))

    owed = await http.get("/billing-history", params={"status": "open"})

    assert entries(owed) == [f"Library Personal Open Due since {format_day(due, 'en')} · Sakura Fonts ¥980 Pay now"]
    assert f'href="/subscriptions/{retrying.subscription.id}#reactivate-title"' in owed.text
