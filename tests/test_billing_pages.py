"""The customer's billing pages through the ASGI app, with the sandbox processor's hosted pages mounted: a
subscription's page, paying an on-hold subscription (declined, approved, 3-D Secure), saved cards and the add-card
round trip; ids outside the session's scope, CSRF, languages, and the statements a page costs."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from access.sessions import viewer_for_token
from core.i18n import translations
from models import Invoice, InvoiceLine, Payment, PaymentMethod, SandboxCharge, Subscription
from models.enums import InvoiceStatus, SubscriptionStatus
from schema.customer import build_context, schema
from tests.support.billing import Subscriber, subscriber
from tests.support.factories import POLICY, business_token, unified_token
from tests.support.pages import CARD_MARK, IDEMPOTENCY_KEY, alert, cards_named, sign_in, without_noise
from tests.support.portal import csrf_from

RADIO = re.compile(r'name="payment_method_id" value="([^"]+)" required( checked)?')
DECLINED = "Your card was declined. Try another card."


def radios(page: httpx.Response) -> list[tuple[str, bool]]:
    """The payment-method choices of a page, in order, with whether each is selected."""
    return [(method_id, bool(checked)) for method_id, checked in RADIO.findall(page.text)]


async def pay(http: httpx.AsyncClient, subscription_id: str, method_id: str, locale: str = "en") -> httpx.Response:
    """Open the subscription's page and submit its Pay and reactivate form with one card."""
    page = await http.get(f"/subscriptions/{subscription_id}?locale={locale}")
    form = {"csrf_token": csrf_from(page), "idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1]}
    return await http.post(
        f"/subscriptions/{subscription_id}/reactivate", data={**form, "payment_method_id": method_id}
    )


async def test_the_subscription_page_shows_status_dues_and_cards(http, context) -> None:
    shop = await subscriber(context, cards=("pm_card_chargeDeclined", "pm_card_visa", "pm_card_mastercard"))
    declined, visa, mastercard = shop.cards.values()
    await Subscription.filter(id=shop.subscription.id).update(payment_method_id=visa.id)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/subscriptions/{shop.subscription.id}")

    assert page.status_code == 200
    assert page.text.count("<h1>") == 1 and "Library Personal" in page.text and "Sakura Fonts" in page.text
    assert "On hold" in page.text and "¥980" in page.text and "Pay and reactivate" in page.text
    # The card paying the subscription comes first; the business's default card is preselected.
    assert radios(page) == [(visa.id, False), (declined.id, True), (mastercard.id, False)]
    assert f'href="/subscriptions/{shop.subscription.id}/payment-method"' in page.text
    assert "Visa •••• 4242" in cards_named(page) and "Mastercard •••• 4444" in cards_named(page)
    home = await http.get("/")
    assert f'href="/subscriptions/{shop.subscription.id}"' in home.text
    assert f'href="/payment-methods?business={shop.business.id}"' in home.text


async def test_an_active_subscription_has_no_payment_form(http, context) -> None:
    shop = await subscriber(
        context, status=SubscriptionStatus.ACTIVE, next_billing_date=datetime(2031, 3, 5, tzinfo=UTC)
    )
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/subscriptions/{shop.subscription.id}")

    assert page.status_code == 200
    assert "Active" in page.text and "Renews on March 5, 2031" in page.text
    assert "Pay and reactivate" not in page.text and radios(page) == []


@pytest.mark.parametrize("locale", ["en", "ja"])
async def test_a_declined_card_says_why_and_the_subscription_stays_on_hold(http, context, locale: str) -> None:
    shop = await subscriber(context)
    await sign_in(http, await business_token(shop.customer))
    declined = shop.cards["pm_card_chargeDeclined"]

    answer = await pay(http, shop.subscription.id, declined.id, locale)

    assert answer.status_code == 422
    assert f'lang="{locale}"' in answer.text
    assert alert(answer) == translations(locale).gettext(DECLINED)
    assert len(radios(answer)) == 2  # another card can be picked
    # The page's language links name the form's address; following one shows the subscription again.
    again = await http.get(f"/subscriptions/{shop.subscription.id}/reactivate?locale=sv")
    assert again.headers["location"] == f"/subscriptions/{shop.subscription.id}?locale=sv"
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ON_HOLD


async def test_a_good_card_reactivates_once_and_confirms(http, context) -> None:
    shop = await subscriber(context)
    await sign_in(http, await business_token(shop.customer))
    page = await http.get(f"/subscriptions/{shop.subscription.id}")
    form = {
        "csrf_token": csrf_from(page),
        "idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1],
        "payment_method_id": shop.cards["pm_card_visa"].id,
    }

    first = await http.post(f"/subscriptions/{shop.subscription.id}/reactivate", data=form)
    again = await http.post(f"/subscriptions/{shop.subscription.id}/reactivate", data=form)

    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith(f"/subscriptions/{shop.subscription.id}/reactivated?payment=pay_")
    assert await SandboxCharge.all().count() == 1 and await Payment.all().count() == 1
    confirmation = await http.get(first.headers["location"])
    assert confirmation.status_code == 200
    assert "Your subscription is active again" in confirmation.text
    assert "SF-0001" in confirmation.text and "¥980" in confirmation.text
    assert "We emailed a receipt to ada@example.com." in confirmation.text
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ACTIVE


@pytest.mark.parametrize(
    ("decision", "status"), [("approve", SubscriptionStatus.ACTIVE), ("fail", SubscriptionStatus.ON_HOLD)]
)
async def test_three_d_secure_round_trip(http, context, decision: str, status: SubscriptionStatus) -> None:
    shop = await subscriber(context, cards=("pm_card_chargeDeclined", "pm_card_authenticationRequired"))
    await sign_in(http, await business_token(shop.customer))

    challenge_url = (await pay(http, shop.subscription.id, shop.cards["pm_card_authenticationRequired"].id)).headers[
        "location"
    ]
    assert "/sandbox/authenticate/" in challenge_url
    challenge = await http.get(challenge_url)
    answered = await http.post(challenge_url, data={"csrf_token": csrf_from(challenge), "decision": decision})
    assert answered.status_code == 303 and "/payments/pay_" in answered.headers["location"]
    back = await http.get(answered.headers["location"])

    assert back.status_code == 303
    assert (await Subscription.get(id=shop.subscription.id)).status == status
    landed = await http.get(back.headers["location"])
    if decision == "approve":
        assert "/reactivated?" in back.headers["location"] and "SF-0001" in landed.text
    else:
        assert back.headers["location"] == f"/subscriptions/{shop.subscription.id}?payment_error=AUTHENTICATION_FAILED"
        assert alert(landed) == "The payment was not confirmed with your bank. Try again."


async def test_a_card_added_on_the_hosted_page_is_saved_and_selected(http, context) -> None:
    shop = await subscriber(context)
    await sign_in(http, await unified_token("ada@example.com"))
    path = f"/subscriptions/{shop.subscription.id}"
    page = await http.get(path)
    form = {"csrf_token": csrf_from(page), "business": shop.business.id, "return_to": path}

    hosted_url = (await http.post("/payment-methods/new", data=form)).headers["location"]
    hosted = await http.get(hosted_url)
    card = {"csrf_token": csrf_from(hosted), "number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123"}
    back = await http.post(hosted_url, data=card)
    assert back.status_code == 303 and "/payment-methods/added?" in back.headers["location"]
    added = await http.get(back.headers["location"])

    new_card = await PaymentMethod.get(customer_id=shop.customer.id, exp_year=2040)
    assert added.status_code == 303 and added.headers["location"] == f"{path}?added={new_card.id}"
    returned = await http.get(added.headers["location"])
    assert "Card added." in returned.text
    assert (new_card.id, True) in radios(returned)


async def test_a_forged_return_link_saves_no_card(http, context) -> None:
    """The return from the hosted page carries the visitor's CSRF token as `state`; a link made elsewhere cannot."""
    shop = await subscriber(context)
    await sign_in(http, await business_token(shop.customer))
    cards_before = await PaymentMethod.all().count()

    forged = await http.get(
        f"/payment-methods/added?business={shop.business.id}&processor_token=pm_card_chargeDeclined&default=1"
    )

    assert forged.status_code == 403
    assert await PaymentMethod.all().count() == cards_before


async def test_cancelling_the_hosted_page_and_foreign_return_paths(http, context) -> None:
    shop = await subscriber(context)
    await sign_in(http, await business_token(shop.customer))
    page = await http.get("/payment-methods")
    form = {"csrf_token": csrf_from(page), "business": shop.business.id, "return_to": "//evil.example/x"}

    hosted_url = (await http.post("/payment-methods/new", data=form)).headers["location"]
    hosted = await http.get(hosted_url)
    cancel_url = re.search(r'class="cancel" href="([^"]+)"', hosted.text)[1].replace("&amp;", "&")
    cancelled = await http.get(cancel_url)

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/payment-methods?business={shop.business.id}"
    assert await PaymentMethod.all().count() == 2


def change(csrf: str, button: str, method_id: str) -> dict[str, str]:
    """What a saved card's Make default button, or the confirmation of its Remove button, posts."""
    confirmed = {"confirmed": "remove_card"} if button == "remove" else {}
    return {"csrf_token": csrf, "change": button, "payment_method_id": method_id, **confirmed}


@pytest.mark.parametrize(
    ("brand", "name"),
    [
        ("visa", "Visa"),
        ("mastercard", "Mastercard"),
        ("amex", "American Express"),
        ("discover", "Discover"),
        ("jcb", "JCB"),
        ("unionpay", "UnionPay"),
        ("diners", "Diners Club"),
        ("", "Card"),
    ],
)
async def test_every_card_shown_wears_its_networks_mark_named_for_screen_readers(http, context, brand, name) -> None:
    shop = await subscriber(context, cards=("pm_card_visa",))
    await PaymentMethod.filter(customer_id=shop.customer.id).update(brand=brand)
    await sign_in(http, await business_token(shop.customer))
    subscription = f"/subscriptions/{shop.subscription.id}"

    for path in ("/", "/payment-methods", subscription, f"{subscription}/payment-method"):
        page = await http.get(path)
        assert page.status_code == 200, path
        assert CARD_MARK.findall(page.text) and set(CARD_MARK.findall(page.text)) == {name}, path
        assert f"{name} •••• 4242" in cards_named(page), path


async def test_each_network_has_a_mark_of_its_own(http, context) -> None:
    shop = await subscriber(context, cards=("pm_card_visa",))
    await sign_in(http, await business_token(shop.customer))
    drawings = set()
    for brand in ("visa", "mastercard", "amex", "discover", "jcb", "unionpay", "diners", "maestro"):
        await PaymentMethod.filter(customer_id=shop.customer.id).update(brand=brand)
        page = await http.get("/payment-methods")
        drawings.add(re.search(r'<svg class="card-mark".*?>(.*?)</svg>', page.text, re.S)[1])
    assert len(drawings) == 8


async def test_saved_cards_are_made_default_removed_and_the_last_one_kept(http, context) -> None:
    shop = await subscriber(context, cards=("pm_card_visa", "pm_card_mastercard"))
    visa, mastercard = shop.cards.values()
    await sign_in(http, await business_token(shop.customer))
    page = await http.get("/payment-methods?locale=sv")
    csrf = csrf_from(page)
    assert page.status_code == 200 and 'lang="sv"' in page.text and "Mastercard •••• 4444" in cards_named(page)
    assert f'action="/payment-methods?business={shop.business.id}"' in page.text

    path = f"/payment-methods?business={shop.business.id}"
    made_default = await http.post(path, data=change(csrf, "default", mastercard.id))
    removed = await http.post(path, data=change(csrf, "remove", visa.id))
    refused = await http.post(f"{path}&locale=en", data=change(csrf, "remove", mastercard.id))

    assert made_default.headers["location"] == f"/payment-methods?business={shop.business.id}&updated=default"
    assert removed.headers["location"] == f"/payment-methods?business={shop.business.id}&updated=removed"
    assert refused.status_code == 422
    assert alert(refused).startswith("This is your only card for an active subscription.")
    assert [method.id for method in await PaymentMethod.filter(detached_at__isnull=True)] == [mastercard.id]


async def test_the_card_that_pays_a_subscription_is_chosen(http, context) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE)
    visa = shop.cards["pm_card_visa"]
    await sign_in(http, await business_token(shop.customer))
    path = f"/subscriptions/{shop.subscription.id}/payment-method"
    page = await http.get(path)
    assert radios(page) == [(shop.cards["pm_card_chargeDeclined"].id, True), (visa.id, False)]

    saved = await http.post(path, data={"csrf_token": csrf_from(page), "payment_method_id": visa.id})

    assert saved.headers["location"] == f"/subscriptions/{shop.subscription.id}?updated=payment_method"
    assert (await Subscription.get(id=shop.subscription.id)).payment_method_id == visa.id
    assert "The payment method of this subscription was changed." in (await http.get(saved.headers["location"])).text


@pytest.mark.parametrize("locale", ["ja", "sv", "ar"])
async def test_the_billing_pages_render_in_every_language(http, context, locale: str) -> None:
    shop = await subscriber(context)
    await sign_in(http, await unified_token("ada@example.com"))

    for path in (f"/subscriptions/{shop.subscription.id}", f"/payment-methods?business={shop.business.id}"):
        page = await http.get(f"{path}{'&' if '?' in path else '?'}locale={locale}")
        assert page.status_code == 200
        assert f'lang="{locale}" dir="{"rtl" if locale == "ar" else "ltr"}"' in page.text


async def test_a_unified_session_wears_the_business_brand_and_links_back(http, context) -> None:
    shop = await subscriber(context)
    await sign_in(http, await unified_token("ada@example.com"))

    page = await http.get(f"/subscriptions/{shop.subscription.id}")

    assert "<strong><bdi>Sakura Fonts</bdi></strong>" in page.text
    assert '<a href="/">All businesses</a>' in page.text
    assert f'href="/?business={shop.business.id}"' in page.text


async def test_the_unified_portal_lists_every_businesss_cards_with_a_way_to_manage_each(http, context) -> None:
    sakura = await subscriber(context, cards=("pm_card_visa",))
    northwind = await subscriber(context, business_name="Northwind", currency="USD", cards=("pm_card_mastercard",))
    elsewhere = await subscriber(context, business_name="Elsewhere", email="bob@example.com", cards=("pm_card_amex",))
    await sign_in(http, await unified_token("ada@example.com"))

    page = await http.get("/payment-methods")
    home = await http.get("/")

    assert page.status_code == 200
    groups = page.text.split('<section class="panel business-group')[1:]
    assert [("Sakura Fonts" in group, "Northwind" in group) for group in groups] == [(False, True), (True, False)]
    northwind_group, sakura_group = groups
    assert "•••• 4444" in northwind_group and "•••• 4242" in sakura_group
    assert f'href="/payment-methods?business={sakura.business.id}"' in sakura_group
    assert "Manage at <bdi>Sakura Fonts</bdi>" in sakura_group
    assert "Elsewhere" not in page.text and "•••• 0005" not in page.text
    assert elsewhere.business.id not in page.text
    assert northwind.business.id in northwind_group
    # Both homes lead there, and each business's portal is "Manage at …", not "Open".
    assert 'href="/payment-methods"' in home.text and "Manage at" in home.text


async def test_the_pages_need_a_session(http) -> None:
    for path in ("/subscriptions/sub_x", "/payment-methods", "/payments/pay_x/complete"):
        answer = await http.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login")


async def foreign_world(context) -> tuple[Subscriber, Subscriber]:
    mine = await subscriber(context, email="ada@example.com")
    theirs = await subscriber(context, email="eve@example.com", business_name="Northwind")
    return mine, theirs


async def their_payment(theirs: Subscriber) -> Payment:
    return await Payment.create(
        business=theirs.business,
        livemode=True,
        customer=theirs.customer,
        subscription=theirs.subscription,
        total_amount=1,
        currency="JPY",
        status="requires_customer_action",
        purpose="reactivation",
        idempotency_key="theirs",
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/subscriptions/{}", "subscription"),
        ("/subscriptions/{}/payment-method", "subscription"),
        ("/payment-methods?business={}", "business"),
        ("/payments/{}/complete", "payment"),
    ],
)
async def test_foreign_ids_are_not_found_like_missing_ones(http, context, path: str, kind: str) -> None:
    mine, theirs = await foreign_world(context)
    await sign_in(http, await business_token(mine.customer))
    foreign = {"subscription": theirs.subscription.id, "business": theirs.business.id}
    foreign["payment"] = (await their_payment(theirs)).id

    answers = []
    for asked in (foreign[kind], f"{kind[:3]}_missing", "x" * 41):
        answer = await http.get(path.format(asked))
        answers.append((answer.status_code, without_noise(answer, asked)))

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404


async def test_foreign_ids_posted_to_the_forms_change_nothing(http, context) -> None:
    mine, theirs = await foreign_world(context)
    their_card = theirs.cards["pm_card_visa"]
    await sign_in(http, await business_token(mine.customer))
    page = await http.get(f"/subscriptions/{mine.subscription.id}")
    csrf, key = csrf_from(page), IDEMPOTENCY_KEY.search(page.text)[1]
    own, foreign = f"/subscriptions/{mine.subscription.id}", f"/subscriptions/{theirs.subscription.id}"

    answers = {
        "pay with their card": await http.post(
            f"{own}/reactivate", data={"csrf_token": csrf, "idempotency_key": key, "payment_method_id": their_card.id}
        ),
        "pay their subscription": await http.post(
            f"{foreign}/reactivate",
            data={"csrf_token": csrf, "idempotency_key": key, "payment_method_id": mine.cards["pm_card_visa"].id},
        ),
        "use their card": await http.post(
            f"{own}/payment-method", data={"csrf_token": csrf, "payment_method_id": their_card.id}
        ),
        "their subscription's card": await http.post(
            f"{foreign}/payment-method", data={"csrf_token": csrf, "payment_method_id": their_card.id}
        ),
        "make their card default": await http.post("/payment-methods", data=change(csrf, "default", their_card.id)),
        "remove their card": await http.post("/payment-methods", data=change(csrf, "remove", their_card.id)),
        "add at their business": await http.post(
            "/payment-methods/new", data={"csrf_token": csrf, "business": theirs.business.id}
        ),
        "attach at their business": await http.get(
            f"/payment-methods/added?business={theirs.business.id}&processor_token=pm_card_visa&state={csrf}"
        ),
    }
    missing_card = await http.post("/payment-methods", data=change(csrf, "remove", "pm_missing"))

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "pay with their card": 422,
        "pay their subscription": 404,
        "use their card": 422,
        "their subscription's card": 404,
        "make their card default": 404,
        "remove their card": 404,
        "add at their business": 404,
        "attach at their business": 404,
    }
    assert (
        alert(answers["pay with their card"])
        == alert(answers["use their card"])
        == "There is nothing with that id here."
    )
    assert without_noise(answers["remove their card"], "") == without_noise(missing_card, "")
    assert await Payment.all().count() == 0 and await SandboxCharge.all().count() == 0
    assert await PaymentMethod.filter(detached_at__isnull=False).count() == 0
    assert await PaymentMethod.all().count() == 4
    assert (await PaymentMethod.get(id=their_card.id)).is_default is False
    for shop in (mine, theirs):
        subscription = await Subscription.get(id=shop.subscription.id)
        assert (subscription.status, subscription.payment_method_id) == (
            SubscriptionStatus.ON_HOLD,
            shop.subscription.payment_method_id,
        )


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/subscriptions/{subscription}/reactivate", {}),
        ("/subscriptions/{subscription}/payment-method", {}),
        ("/payment-methods?business={business}", {"change": "default"}),
        ("/payment-methods?business={business}", {"change": "remove"}),
        ("/payment-methods/new", {}),
    ],
)
async def test_every_form_needs_the_csrf_token(http, context, path: str, fields: dict) -> None:
    shop = await subscriber(context)
    visa = shop.cards["pm_card_visa"]
    await sign_in(http, await business_token(shop.customer))
    page = await http.get(f"/subscriptions/{shop.subscription.id}")
    form = {"idempotency_key": IDEMPOTENCY_KEY.search(page.text)[1], "payment_method_id": visa.id, **fields}

    answer = await http.post(path.format(subscription=shop.subscription.id, business=shop.business.id), data=form)

    assert answer.status_code == 403
    subscription = await Subscription.get(id=shop.subscription.id)
    assert (subscription.status, subscription.payment_method_id) == (
        SubscriptionStatus.ON_HOLD,
        shop.cards["pm_card_chargeDeclined"].id,
    )
    assert await Payment.all().count() == 0 and not (await PaymentMethod.get(id=visa.id)).is_default
    assert await PaymentMethod.filter(detached_at__isnull=False).count() == 0


async def add_invoices(shop: Subscriber, numbers: range) -> None:
    invoices = [
        Invoice(
            business=shop.business,
            livemode=True,
            customer=shop.customer,
            subscription=shop.subscription,
            number=f"SF-{n:04d}",
            status=InvoiceStatus.PAID,
            currency="JPY",
            subtotal=980,
            total=980,
            issued_at=datetime.now(UTC),
        )
        for n in numbers
    ]
    await Invoice.bulk_create(invoices)
    await InvoiceLine.bulk_create(
        [
            InvoiceLine(invoice_id=invoice.id, description="Library Personal", unit_amount=980, amount=980)
            for invoice in invoices
        ]
    )


async def test_the_subscription_page_costs_the_same_statements_whatever_the_invoices(
    http, context, count_statements
) -> None:
    shop = await subscriber(context)
    await sign_in(http, await business_token(shop.customer))
    path = f"/subscriptions/{shop.subscription.id}"
    await add_invoices(shop, range(1, 2))
    with count_statements() as few:
        assert (await http.get(path)).status_code == 200

    await add_invoices(shop, range(2, 32))
    with count_statements() as many:
        page = await http.get(path)

    # The newest six, and the way to all of them: a phone does not scroll past thirty-one invoices to manage it.
    assert page.text.count('<bdi class="title">SF-00') == 6 and "SF-0031" in page.text
    assert '<a href="/billing-history">All 31 invoices</a>' in page.text
    assert many.count == few.count


async def test_the_invoices_of_many_subscriptions_cost_one_statement(context, count_statements) -> None:
    shop = await subscriber(context, status=SubscriptionStatus.ACTIVE)
    await add_invoices(shop, range(1, 4))
    viewer = await viewer_for_token(await business_token(shop.customer), POLICY)
    query = "{ viewer { subscriptions { edges { node { invoices(first: 2) { totalCount nodes { number } } } } } } }"

    async def statements() -> int:
        with count_statements() as counter:
            result = await schema.execute(query, context_value=build_context(viewer, "en", "req_test"))
        assert result.errors is None, result.errors
        return counter.count

    one = await statements()
    for _ in range(5):
        await add_invoices(await subscriber(context, email="ada@example.com", business_name="Sakura Fonts"), range(3))
    viewer = await viewer_for_token(await unified_token("ada@example.com"), POLICY)

    assert await statements() == one
