"""The pages that change a subscription's course, through the ASGI app: cancelling (at the period end or now, with
reasons and the retention offer once), resuming, changing plan with a preview (charged, declined, 3-D Secure,
scheduled, kept), quantities out of range, pausing, the business's switches, the credit balance on the home page;
ids outside the session's scope, CSRF and languages on every new route."""

import re
from datetime import UTC, datetime
from urllib.parse import unquote

import httpx
import pytest

from gateway.templating import environment
from models import (
    CreditEntry,
    LicenseKey,
    Payment,
    SandboxCharge,
    Subscription,
)
from models.enums import LicenseKeyStatus, SubscriptionStatus
from tests.support.billing import Subscriber, configure, retention_offer, subscriber, with_plans
from tests.support.factories import business_token, unified_token
from tests.support.pages import IDEMPOTENCY_KEY, alert, confirm, sign_in, without_noise
from tests.support.portal import csrf_from

# The billing pages' fixtures: the app with its BillingContext and the sandbox's hosted pages, and a sign-in.

PERIOD_END = datetime(2031, 3, 5, 12, tzinfo=UTC)
CHARGED_TODAY = re.compile(r'class="charge"><bdi>([^<]+)<')
AMOUNT_PAID = re.compile(r"Amount paid</dt>\s*<dd><bdi>([^<]+)<")
HIDDEN = re.compile(r'type="hidden" name="(reason|comment|when|offer_seen)" value="([^"]*)"')


async def active_shop(
    context,
    cards: tuple[str, ...] = ("pm_card_visa",),
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    **fields,
) -> Subscriber:
    """Ada's subscription at Sakura Fonts (¥980 a month), active unless said otherwise, its period ending on
    March 5, 2031."""
    return await subscriber(context, status=status, cards=cards, next_billing_date=PERIOD_END, **fields)


async def signed_in(http: httpx.AsyncClient, shop: Subscriber) -> str:
    """Sign Ada in to the shop's portal; the subscription's path."""
    await sign_in(http, await business_token(shop.customer))
    return f"/subscriptions/{shop.subscription.id}"


def yen(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


async def post_form(http: httpx.AsyncClient, page_path: str, action: str, **fields: str) -> httpx.Response:
    """Open `page_path` and post `fields` to `action` with the page's CSRF token."""
    page = await http.get(page_path)
    return await http.post(action, data={"csrf_token": csrf_from(page), **fields})


async def test_cancel_at_the_period_end_then_resume(http, context) -> None:
    shop = await active_shop(context)
    path = await signed_in(http, shop)
    assert f'href="{path}/cancel"' in (await http.get(path)).text

    form = await http.get(f"{path}/cancel")
    assert form.status_code == 200 and form.text.count("<h1>") == 1
    assert form.text.count('name="reason"') == 8 and "It is too expensive" in form.text
    assert 'maxlength="500"' in form.text and 'value="now"' not in form.text
    assert "on March 5, 2031. You keep access until then." in form.text

    done = await post_form(
        http, f"{path}/cancel", f"{path}/cancel", reason="TOO_EXPENSIVE", comment="Pricey", when="period_end"
    )
    assert (done.status_code, done.headers["location"]) == (303, f"{path}/cancelled")
    confirmation = await http.get(done.headers["location"])
    assert "Your subscription is cancelled" in confirmation.text
    assert "You keep access until March 5, 2031." in confirmation.text
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.cancel_at_next_billing_date, row.cancellation_feedback, row.cancellation_comment) == (
        True,
        "too_expensive",
        "Pricey",
    )

    page = await http.get(path)
    assert "Cancels on March 5, 2031" in page.text and f'href="{path}/resume"' in page.text
    assert f'href="{path}/cancel"' not in page.text
    _, resumed = await confirm(http, f"{path}/resume")
    assert resumed.headers["location"] == f"{path}?updated=resumed"
    assert "Your subscription continues." in (await http.get(resumed.headers["location"])).text
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False
    # The old confirmation no longer claims it is ending.
    assert (await http.get(f"{path}/cancelled")).headers["location"] == path
    # The language links of a refused action's page name its address: a GET of it shows the subscription.
    assert (await http.get(f"{path}/resume?locale=sv")).headers["location"] == f"{path}?locale=sv"


async def test_an_immediate_cancellation_ends_today_and_disables_the_keys(http, context) -> None:
    shop = await active_shop(context)
    await configure(shop, subscription_cancel={"mode": "immediately"})
    path = await signed_in(http, shop)

    form = await http.get(f"{path}/cancel")
    assert "At the end of the period (March 5, 2031)" in form.text and 'value="now"' in form.text
    done = await post_form(http, f"{path}/cancel", f"{path}/cancel", reason="UNUSED", when="now")

    assert "It ended today." in (await http.get(done.headers["location"])).text
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.CANCELLED
    # An ended subscription charges no card again, so its card is shown but not offered for a change.
    assert f'href="{path}/payment-method"' not in (await http.get(path)).text
    assert await LicenseKey.filter(status=LicenseKeyStatus.DISABLED).count() == 1


async def test_the_retention_offer_is_made_once_and_accepting_it_keeps_the_subscription(http, context) -> None:
    shop = await active_shop(context)
    await retention_offer(shop)
    path = await signed_in(http, shop)
    answers = {"reason": "TOO_EXPENSIVE", "comment": "A bit much", "when": "period_end"}

    offer = await post_form(http, f"{path}/cancel", f"{path}/cancel", **answers)

    assert offer.status_code == 200 and "Stay and get 20% off for three months" in offer.text
    assert dict(HIDDEN.findall(offer.text)) == {**answers, "offer_seen": "1"}
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False
    accepted = await post_form(http, path, f"{path}/retention-offer")
    assert accepted.headers["location"] == f"{path}?updated=offer_accepted"
    page = await http.get(accepted.headers["location"])
    assert "Thank you for staying." in page.text
    assert "20% off for three months" in page.text and "3 renewals left" in page.text
    # Seen once: cancelling again goes straight through.
    again = await post_form(http, f"{path}/cancel", f"{path}/cancel", **answers)
    assert again.headers["location"] == f"{path}/cancelled"


async def test_no_thanks_cancels_with_the_answers_of_the_first_step(http, context) -> None:
    shop = await active_shop(context)
    await retention_offer(shop)
    path = await signed_in(http, shop)
    offer = await post_form(http, f"{path}/cancel", f"{path}/cancel", reason="SWITCHED_SERVICE", when="period_end")

    declined = await http.post(
        f"{path}/cancel", data={"csrf_token": csrf_from(offer), **dict(HIDDEN.findall(offer.text))}
    )

    assert declined.headers["location"] == f"{path}/cancelled"
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.cancel_at_next_billing_date, row.cancellation_feedback, row.discount_id) == (
        True,
        "switched_service",
        None,
    )


async def test_an_unknown_reason_or_a_long_comment_is_refused(http, context) -> None:
    shop = await active_shop(context)
    path = await signed_in(http, shop)

    unknown = await post_form(http, f"{path}/cancel", f"{path}/cancel", reason="BORED", when="period_end")
    too_long = await post_form(http, f"{path}/cancel", f"{path}/cancel", comment="x" * 501, when="period_end")

    assert unknown.status_code == too_long.status_code == 422
    assert alert(unknown) == "Choose one of the reasons offered."
    assert alert(too_long) == "This value is not valid." and "x" * 501 in too_long.text
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False


async def preview(http: httpx.AsyncClient, path: str, product_id: str, quantity: int = 1) -> httpx.Response:
    return await http.get(f"{path}/change-plan?product={product_id}&quantity={quantity}")


def confirm_form(page: httpx.Response, product_id: str, quantity: int = 1) -> dict[str, str]:
    """What the preview's Confirm button posts."""
    key = IDEMPOTENCY_KEY.search(page.text)[1]
    return {"csrf_token": csrf_from(page), "idempotency_key": key, "product": product_id, "quantity": str(quantity)}


async def test_an_upgrade_is_previewed_then_charged_as_previewed(http, context) -> None:
    shop = await active_shop(context)
    smaller, current, bigger = await with_plans(shop)
    path = await signed_in(http, shop)
    assert f'href="{path}/change-plan"' in (await http.get(path)).text

    plans = await http.get(f"{path}/change-plan")
    assert plans.status_code == 200 and plans.text.count("<h1>") == 1
    assert [plans.text.index(label) for label in ("Downgrade", "Current plan", "Upgrade")] == sorted(
        plans.text.index(label) for label in ("Downgrade", "Current plan", "Upgrade")
    )
    assert f'name="product" value="{current.id}" required checked' in plans.text
    assert 'type="number" min="1"' in plans.text

    shown = await preview(http, path, bigger.id)
    assert shown.status_code == 200 and "Charged today" in shown.text and "Unused time on" in shown.text
    charge = yen(CHARGED_TODAY.search(shown.text)[1])
    form = confirm_form(shown, bigger.id)
    first = await http.post(f"{path}/change-plan", data=form)
    again = await http.post(f"{path}/change-plan", data=form)

    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert first.headers["location"].startswith(f"{path}/plan-changed?payment=pay_")
    receipt = await http.get(first.headers["location"])
    assert "Your plan has changed" in receipt.text and "Your plan is now Plan 2980." in receipt.text
    assert "SF-0001" in receipt.text
    assert abs(yen(AMOUNT_PAID.search(receipt.text)[1]) - charge) <= 1
    assert await SandboxCharge.all().count() == 1
    assert (await Subscription.get(id=shop.subscription.id)).product_id == bigger.id


async def test_a_declined_upgrade_changes_nothing_and_says_why(http, context) -> None:
    shop = await active_shop(context, cards=("pm_card_chargeDeclined",))
    _, current, bigger = await with_plans(shop)
    path = await signed_in(http, shop)

    answer = await http.post(f"{path}/change-plan", data=confirm_form(await preview(http, path, bigger.id), bigger.id))

    assert answer.status_code == 422
    assert alert(answer) == "Your card was declined. Try another card."
    assert "Charged today" in answer.text and f'href="{path}/payment-method"' in answer.text
    assert (await Subscription.get(id=shop.subscription.id)).product_id == current.id


async def test_an_upgrade_confirmed_with_the_bank_lands_on_a_receipt(http, context) -> None:
    shop = await active_shop(context, cards=("pm_card_authenticationRequired",))
    _, _, bigger = await with_plans(shop)
    path = await signed_in(http, shop)

    challenge_url = (
        await http.post(f"{path}/change-plan", data=confirm_form(await preview(http, path, bigger.id), bigger.id))
    ).headers["location"]
    challenge = await http.get(challenge_url)
    answered = await http.post(challenge_url, data={"csrf_token": csrf_from(challenge), "decision": "approve"})
    back = await http.get(answered.headers["location"])
    receipt = await http.get(back.headers["location"])

    assert "/sandbox/authenticate/" in challenge_url
    assert receipt.status_code == 200
    assert "Payment confirmed" in receipt.text and "Plan 2980 is active." in receipt.text
    assert "active again" not in receipt.text and "SF-0001" in receipt.text
    assert (await Subscription.get(id=shop.subscription.id)).product_id == bigger.id


async def test_a_downgrade_is_scheduled_and_keep_current_plan_calls_it_off(http, context) -> None:
    shop = await active_shop(context)
    smaller, current, _ = await with_plans(shop)
    path = await signed_in(http, shop)

    shown = await preview(http, path, smaller.id)
    assert "Changes on March 5, 2031." in shown.text
    scheduled = await http.post(f"{path}/change-plan", data=confirm_form(shown, smaller.id))

    assert scheduled.headers["location"] == f"{path}?updated=plan_scheduled"
    page = await http.get(scheduled.headers["location"])
    assert "Changes to Plan 500 on March 5, 2031" in page.text and f'action="{path}/keep-plan"' in page.text
    kept = await post_form(http, path, f"{path}/keep-plan")
    assert kept.headers["location"] == f"{path}?updated=plan_kept"
    assert "Changes to" not in (await http.get(kept.headers["location"])).text
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.product_id, row.scheduled_change) == (current.id, None)
    assert await Payment.all().count() == 0


async def test_seeing_the_price_of_the_current_plan_says_it_is_the_current_plan(http, context) -> None:
    shop = await active_shop(context)
    _, current, _ = await with_plans(shop)
    path = await signed_in(http, shop)

    shown = await preview(http, path, current.id)

    assert shown.status_code == 200 and alert(shown) == ""
    assert "This change is not possible" not in shown.text
    assert re.search(r'role="status">\s*This is your current plan\. Choose another plan or quantity', shown.text)
    assert "Charged today" not in shown.text and IDEMPOTENCY_KEY.search(shown.text) is None
    assert f'name="product" value="{current.id}" required checked' in shown.text
    # Another quantity of the same plan is a change with a price.
    assert "Charged today" in (await preview(http, path, current.id, quantity=2)).text


async def test_the_quantity_is_asked_for_as_seats_within_the_businesss_limits(http, context) -> None:
    shop = await active_shop(context)
    await with_plans(shop)
    await configure(shop, subscription_update={"quantity": {"minimum": 1, "maximum": 10}})
    path = await signed_in(http, shop)

    page = await http.get(f"{path}/change-plan")

    assert '<label for="quantity">Seats</label>' in page.text and ">Quantity<" not in page.text
    field = re.search(r'<input id="quantity"[^>]*>', page.text)[0]
    assert 'min="1" max="10"' in field and 'aria-describedby="quantity-hint"' in field
    assert '<p class="hint" id="quantity-hint">How many people use it</p>' in page.text


async def test_where_the_business_allows_no_quantity_change_the_plan_changes_and_the_seats_stay(http, context) -> None:
    shop = await active_shop(context, quantity=2)
    _, current, bigger = await with_plans(shop)
    await configure(shop, subscription_update={"default_allowed_updates": ["price"]})
    path = await signed_in(http, shop)

    page = await http.get(f"{path}/change-plan")
    shown = await preview(http, path, bigger.id, quantity=2)
    more = await http.get(f"{path}/change-plan?product={current.id}&quantity=3")
    form = {"csrf_token": csrf_from(page), "idempotency_key": "seats", "product": current.id, "quantity": "3"}
    posted = await http.post(f"{path}/change-plan", data=form)

    assert 'id="quantity"' not in page.text and "Seats" not in page.text
    assert '<input type="hidden" name="quantity" value="2">' in page.text
    assert shown.status_code == 200 and "Charged today" in shown.text
    assert more.status_code == 422 and "This change is not possible." in alert(more)
    assert posted.status_code == 422
    assert alert(posted) == "This business does not allow changing the quantity here. Contact them instead."
    assert (await Subscription.get(id=shop.subscription.id)).quantity == 2


@pytest.mark.parametrize("quantity", ["101", "0", "abc"])
async def test_a_quantity_outside_the_limits_is_refused(http, context, quantity: str) -> None:
    shop = await active_shop(context)
    _, current, _ = await with_plans(shop)
    path = await signed_in(http, shop)

    shown = await http.get(f"{path}/change-plan?product={current.id}&quantity={quantity}")
    page = await http.get(f"{path}/change-plan")
    form = {"csrf_token": csrf_from(page), "idempotency_key": "seats", "product": current.id, "quantity": quantity}
    posted = await http.post(f"{path}/change-plan", data=form)

    assert shown.status_code == 422 and "This change is not possible." in alert(shown)
    assert posted.status_code == 422
    assert alert(posted) == "Choose a quantity between 1 and 100."
    assert (await Subscription.get(id=shop.subscription.id)).quantity == 1


async def test_nothing_is_offered_where_the_business_switched_it_off(http, context) -> None:
    shop = await active_shop(context)
    _, _, bigger = await with_plans(shop)
    shop.business.allow_subscription_updates = shop.business.allow_subscription_cancellation = False
    await shop.business.save()
    path = await signed_in(http, shop)

    page = await http.get(path)
    cancelled = await post_form(http, path, f"{path}/cancel", when="period_end")
    form = {"csrf_token": csrf_from(page), "idempotency_key": "up", "product": bigger.id, "quantity": "1"}
    changed = await http.post(f"{path}/change-plan", data=form)

    assert f"{path}/cancel" not in page.text and f"{path}/change-plan" not in page.text
    assert "To cancel this subscription, write to Sakura Fonts at help@shop.example." in page.text
    assert (await http.get(f"{path}/cancel")).headers["location"] == path
    assert (await http.get(f"{path}/change-plan")).headers["location"] == path
    assert (cancelled.status_code, changed.status_code) == (422, 422)
    assert alert(cancelled) == "This business does not allow cancelling online. Contact them to cancel."
    assert alert(changed) == "This business does not allow changing plans here. Contact them instead."
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.cancel_at_next_billing_date, row.product_id) == (False, shop.subscription.product_id)


async def test_pausing_where_the_business_allows_it(http, context) -> None:
    shop = await active_shop(context)
    path = await signed_in(http, shop)
    assert f"{path}/pause" not in (await http.get(path)).text
    await configure(shop, subscription_pause={"enabled": True, "max_cycles": 3})

    page = await http.get(path)
    refused = await post_form(http, path, f"{path}/pause", cycles="4")
    _, paused = await confirm(http, f"{path}/pause?cycles=2")

    pause_choices = page.text.partition('<select id="pause-cycles"')[2].partition("</select>")[0]
    assert pause_choices.count('<option value="') == 4 and 'value="until_resumed"' in pause_choices
    assert refused.status_code == 422
    assert alert(refused) == "Pause for between 1 and 3 billing periods, or until you resume."
    assert paused.headers["location"] == f"{path}?updated=pause_scheduled"
    pausing = await http.get(paused.headers["location"])
    assert "Pauses on March 5, 2031; resumes on May 5, 2031" in pausing.text
    assert f'action="{path}/pause"' not in pausing.text
    _, called_off = await confirm(http, f"{path}/unpause")
    assert called_off.headers["location"] == f"{path}?updated=pause_called_off"
    assert (await Subscription.get(id=shop.subscription.id)).pause_at_next_billing_date is False

    _, until = await confirm(http, f"{path}/pause?cycles=until_resumed")
    assert until.status_code == 303
    assert "Pauses on March 5, 2031 until you resume" in (await http.get(path)).text


async def test_a_paused_subscription_says_until_when_and_unpauses(http, context) -> None:
    shop = await active_shop(context, status=SubscriptionStatus.PAUSED)
    await Subscription.filter(id=shop.subscription.id).update(paused_until=PERIOD_END)
    path = await signed_in(http, shop)

    page = await http.get(path)
    _, unpaused = await confirm(http, f"{path}/unpause")

    assert "Paused until March 5, 2031" in page.text
    assert (unpaused.status_code, unpaused.headers["location"]) == (303, f"{path}?updated=unpaused")
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ACTIVE


async def test_the_home_page_shows_the_credit_balance(http, context) -> None:
    shop = await active_shop(context)
    await signed_in(http, shop)
    assert "Credit:" not in (await http.get("/")).text
    await CreditEntry.create(
        business=shop.business, livemode=True, customer=shop.customer, currency="JPY", amount=1234, reason="downgrade"
    )

    assert "Credit: ¥1,234, used first by your next payments." in (await http.get("/")).text


async def test_the_unified_portal_changes_the_subscriptions_of_every_business(http, context) -> None:
    sakura = await active_shop(context)
    northwind = await active_shop(context, business_name="Northwind")
    _, _, bigger = await with_plans(northwind)
    await sign_in(http, await unified_token("ada@example.com"))
    sakura_path, northwind_path = (f"/subscriptions/{shop.subscription.id}" for shop in (sakura, northwind))

    form = await http.get(f"{sakura_path}/cancel")
    cancelled = await post_form(http, f"{sakura_path}/cancel", f"{sakura_path}/cancel", when="period_end")
    shown = await preview(http, northwind_path, bigger.id)
    changed = await http.post(f"{northwind_path}/change-plan", data=confirm_form(shown, bigger.id))

    assert "<strong><bdi>Sakura Fonts</bdi></strong>" in form.text and '<a href="/">All businesses</a>' in form.text
    assert "<strong><bdi>Northwind</bdi></strong>" in shown.text
    assert cancelled.headers["location"] == f"{sakura_path}/cancelled"
    assert changed.headers["location"].startswith(f"{northwind_path}/plan-changed?")
    assert (await Subscription.get(id=sakura.subscription.id)).cancel_at_next_billing_date is True
    assert (await Subscription.get(id=northwind.subscription.id)).product_id == bigger.id


@pytest.mark.parametrize("locale", ["ja", "sv", "ar"])
async def test_the_new_pages_render_in_every_language(http, context, locale: str) -> None:
    shop = await active_shop(context)
    smaller, _, _ = await with_plans(shop)
    await retention_offer(shop)
    path = await signed_in(http, shop)

    pages = [
        await http.get(f"{path}/cancel?locale={locale}"),
        await post_form(http, f"{path}/cancel?locale={locale}", f"{path}/cancel", when="period_end"),
        await http.get(f"{path}/change-plan?product={smaller.id}&quantity=1&locale={locale}"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert f'lang="{locale}" dir="{"rtl" if locale == "ar" else "ltr"}"' in page.text
        assert page.text.count("<h1>") == 1 and "<main" in page.text


GET_ROUTES = ["cancel", "cancelled", "change-plan", "change-plan?product=pdt_x&quantity=1", "plan-changed?invoice=x"]
POST_ROUTES = ["resume", "retention-offer", "keep-plan", "pause", "unpause", "cancel", "change-plan"]


@pytest.mark.parametrize(
    ("method", "route"), [("GET", route) for route in GET_ROUTES] + [("POST", r) for r in POST_ROUTES]
)
async def test_foreign_and_malformed_ids_are_not_found_like_missing_ones(
    http, context, method: str, route: str
) -> None:
    mine = await active_shop(context)
    theirs = await active_shop(context, email="eve@example.com", business_name="Northwind")
    await with_plans(theirs)
    await signed_in(http, mine)
    csrf = csrf_from(await http.get(f"/subscriptions/{mine.subscription.id}"))
    form = {"csrf_token": csrf, "idempotency_key": "k", "product": "pdt_x", "quantity": "1", "cycles": "1"}

    answers = []
    for asked in (theirs.subscription.id, "sub_missing", "x" * 41, "sub_%C3%A9"):
        answer = await http.request(method, f"/subscriptions/{asked}/{route}", data=form if method == "POST" else None)
        answers.append((answer.status_code, without_noise(answer, unquote(asked))))

    assert answers[0][0] == 404
    assert all(answer == answers[0] for answer in answers)
    row = await Subscription.get(id=theirs.subscription.id)
    assert (row.status, row.cancel_at_next_billing_date, row.pause_at_next_billing_date) == (
        SubscriptionStatus.ACTIVE,
        False,
        False,
    )


@pytest.mark.parametrize("route", POST_ROUTES)
async def test_every_new_form_needs_the_csrf_token(http, context, route: str) -> None:
    shop = await active_shop(context)
    _, _, bigger = await with_plans(shop)
    await configure(shop, subscription_pause={"enabled": True})
    path = await signed_in(http, shop)
    await http.get(path)  # the visitor gets a CSRF token, which the form below leaves out
    form = {"idempotency_key": "k", "product": bigger.id, "quantity": "1", "cycles": "1", "when": "period_end"}

    answer = await http.post(f"{path}/{route}", data=form)

    assert answer.status_code == 403
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.status, row.cancel_at_next_billing_date, row.pause_at_next_billing_date, row.product_id) == (
        SubscriptionStatus.ACTIVE,
        False,
        False,
        shop.subscription.product_id,
    )
    assert await Payment.all().count() == 0


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        ("ACTIVE", {}, "Renews on December 17, 2026"),
        ("ACTIVE", {"cancelAtNextBillingDate": True}, "Ends on December 17, 2026"),
        (
            "ACTIVE",
            {"pauseAtNextBillingDate": True, "pauseEndsAt": "2027-02-17T09:00:00+00:00"},
            "Pauses on December 17, 2026; resumes on February 17, 2027",
        ),
        ("ACTIVE", {"pauseAtNextBillingDate": True}, "Pauses on December 17, 2026 until you resume"),
        ("PENDING", {}, "Starts once the first payment goes through."),
        ("FAILED", {}, "The first payment did not go through."),
        ("ON_HOLD", {}, "The last payment did not go through."),
        ("PAUSED", {"pausedUntil": "2027-02-01T00:00:00+00:00"}, "Paused until February 1, 2027"),
        ("PAUSED", {}, "Paused until you resume"),
        ("CANCELLED", {"cancelledAt": "2026-11-20T10:00:00+00:00"}, "Cancelled on November 20, 2026"),
        ("EXPIRED", {}, "This subscription has ended."),
    ],
)
def test_a_subscriptions_date_line_says_what_its_status_means(status, extra, expected):
    subscription = {
        "status": status,
        "previousBillingDate": "2026-11-17T09:00:00+00:00",
        "nextBillingDate": "2026-12-17T09:00:00+00:00",
        "cancelAtNextBillingDate": False,
        "cancelledAt": None,
        "trial": None,
        "pausedUntil": None,
        "pauseAtNextBillingDate": False,
        "pauseEndsAt": None,
        **extra,
    }
    macros = environment("en").get_template("macros.html").make_module({})
    assert str(macros.subscription_dates(subscription)).strip() == expected
