"""Confirmations before money or access changes, through the ASGI app: unpausing, calling off a pause that has not
begun ("Don't pause"), resuming a cancellation and pausing show what will be charged and when (or the pause's dates)
and change nothing until confirmed; removing a card and deactivating a device ask first as well. A confirmation of
something that no longer applies is shown again as it is now; a foreign id on a confirmation page is answered like a
missing one; the confirming form needs the CSRF token. And a scheduled pause's wording on the subscription and home
pages."""

import re
from datetime import UTC, datetime

import httpx
import pytest

from core.clock import utcnow
from core.i18n import format_day
from models import LicenseKeyInstance, PaymentMethod, Subscription
from models.enums import SubscriptionStatus
from tests.support.billing import Subscriber, configure, subscriber
from tests.support.factories import business_token
from tests.support.licenses import device_names, licensed
from tests.support.pages import cards_named, confirm, confirming_form, sign_in, without_noise
from tests.support.portal import csrf_from

PERIOD_END = datetime(2031, 3, 5, 12, tzinfo=UTC)
HEADING = re.compile(r"<h1>([^<]+)</h1>")


async def shop_with(context, **fields) -> Subscriber:
    """Ada's active subscription at Sakura Fonts, ¥980 a month with its 10% tax included, its period ending on
    March 5, 2031, paid by Visa •••• 4242; `fields` change the subscription."""
    fields = {"status": SubscriptionStatus.ACTIVE, **fields}
    return await subscriber(context, cards=("pm_card_visa",), next_billing_date=PERIOD_END, **fields)


async def signed_in(http: httpx.AsyncClient, shop: Subscriber) -> str:
    await sign_in(http, await business_token(shop.customer))
    return f"/subscriptions/{shop.subscription.id}"


async def post_unconfirmed(http: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    """Post a confirmation page's form as an older page would have: without the confirmation."""
    action, fields = confirming_form(page)
    return await http.post(action, data={name: value for name, value in fields.items() if name != "confirmed"})


def heading(page: httpx.Response) -> str:
    match = HEADING.search(page.text)
    return match[1] if match else ""


async def test_unpausing_says_what_is_charged_today_and_changes_nothing_until_confirmed(http, context) -> None:
    shop = await shop_with(context, status=SubscriptionStatus.PAUSED)
    # $49.00 a month with 10% tax added on top: $53.90 is charged.
    await Subscription.filter(id=shop.subscription.id).update(
        currency="USD", recurring_pre_tax_amount=4900, tax_inclusive=False
    )
    path = await signed_in(http, shop)
    today = format_day(utcnow(), "en")

    page = await http.get(path)
    shown = await http.get(f"{path}/unpause")
    unconfirmed = await post_unconfirmed(http, shown)
    still = (await Subscription.get(id=shop.subscription.id)).status
    _, confirmed = await confirm(http, f"{path}/unpause")

    assert f'href="{path}/unpause"' in page.text and f'action="{path}/unpause"' not in page.text
    assert shown.status_code == 200 and heading(shown) == "Unpause Library Personal"
    assert "Billing starts again today." in shown.text
    assert f"$53.90, tax included, is charged on {today}." in shown.text
    assert "$49.00 / month + tax" in shown.text and "Visa •••• 4242" in cards_named(shown)
    assert f'href="{path}">Cancel</a>' in shown.text
    assert (unconfirmed.status_code, heading(unconfirmed)) == (200, "Unpause Library Personal")
    assert still == SubscriptionStatus.PAUSED
    assert confirmed.headers["location"] == f"{path}?updated=unpaused"
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.ACTIVE


async def test_resuming_a_cancellation_says_what_is_charged_and_when(http, context) -> None:
    shop = await shop_with(context, cancel_at_next_billing_date=True)
    path = await signed_in(http, shop)

    shown = await http.get(f"{path}/resume")
    unconfirmed = await post_unconfirmed(http, shown)
    cancelling = (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date
    _, confirmed = await confirm(http, f"{path}/resume")

    assert heading(shown) == "Resume Library Personal"
    assert "It renews instead of ending on March 5, 2031." in shown.text
    assert "¥980, tax included, is charged on March 5, 2031." in shown.text
    assert unconfirmed.status_code == 200 and cancelling is True
    assert confirmed.headers["location"] == f"{path}?updated=resumed"
    assert (await Subscription.get(id=shop.subscription.id)).cancel_at_next_billing_date is False
    # Nothing left to resume: its address shows the subscription.
    assert (await http.get(f"{path}/resume")).headers["location"] == path


async def test_a_pause_is_confirmed_with_its_dates_and_a_scheduled_one_says_so(http, context) -> None:
    shop = await shop_with(context)
    await configure(shop, subscription_pause={"enabled": True, "max_cycles": 3})
    path = await signed_in(http, shop)

    page = await http.get(path)
    shown = await http.get(f"{path}/pause?cycles=2")
    unconfirmed = await post_unconfirmed(http, shown)
    pausing = (await Subscription.get(id=shop.subscription.id)).pause_at_next_billing_date
    _, confirmed = await confirm(http, f"{path}/pause?cycles=2")
    scheduled, home = await http.get(path), await http.get("/")

    assert f'<form class="row-actions" method="get" action="{path}/pause">' in page.text
    assert heading(shown) == "Pause Library Personal"
    assert "Pauses on March 5, 2031; resumes on May 5, 2031" in shown.text
    assert "Nothing is charged in between." in shown.text
    assert 'name="cycles" value="2"' in shown.text
    assert unconfirmed.status_code == 200 and pausing is False
    assert confirmed.headers["location"] == f"{path}?updated=pause_scheduled"
    row = await Subscription.get(id=shop.subscription.id)
    assert (row.pause_at_next_billing_date, row.pause_cycles) == (True, 2)
    # The scheduled pause: its dates, nothing charged in between, "Don't pause", and no renewal beside it.
    for text in (scheduled.text, home.text):
        assert "Pauses on March 5, 2031; resumes on May 5, 2031" in text and "Renews on" not in text
    assert "Nothing is charged in between." in scheduled.text
    assert re.search(rf'href="{path}/unpause"[^>]*>Don\'t pause</a>', scheduled.text)
    assert ">Unpause<" not in scheduled.text


async def test_a_pause_until_resumed_has_no_end_date(http, context) -> None:
    shop = await shop_with(context)
    await configure(shop, subscription_pause={"enabled": True, "max_cycles": 3})
    path = await signed_in(http, shop)

    shown, confirmed = await confirm(http, f"{path}/pause?cycles=until_resumed")

    assert "Pauses on March 5, 2031 until you resume" in shown.text
    assert "Nothing is charged while it is paused." in shown.text
    assert confirmed.status_code == 303
    assert "Pauses on March 5, 2031 until you resume" in (await http.get(path)).text


async def test_dont_pause_says_the_renewal_goes_ahead(http, context) -> None:
    shop = await shop_with(context, pause_at_next_billing_date=True, pause_cycles=1)
    path = await signed_in(http, shop)

    shown, confirmed = await confirm(http, f"{path}/unpause")
    after = await http.get(confirmed.headers["location"])

    assert heading(shown) == "Don't pause Library Personal"
    assert "It renews as usual instead of pausing." in shown.text
    assert "¥980, tax included, is charged on March 5, 2031." in shown.text
    assert confirmed.headers["location"] == f"{path}?updated=pause_called_off"
    assert "Your subscription will not pause. It renews as usual." in after.text
    assert "Renews on March 5, 2031" in after.text
    assert (await Subscription.get(id=shop.subscription.id)).pause_at_next_billing_date is False


async def test_a_confirmation_that_no_longer_applies_is_shown_again_as_it_is_now(http, context) -> None:
    """Ada opened "Don't pause" (no charge until March 5); the pause began before she pressed it: unpausing now
    would charge today, which she has not seen, so she is shown that instead and nothing changes."""
    shop = await shop_with(context, pause_at_next_billing_date=True, pause_cycles=1)
    path = await signed_in(http, shop)
    dont_pause = await http.get(f"{path}/unpause")
    await Subscription.filter(id=shop.subscription.id).update(
        status=SubscriptionStatus.PAUSED, pause_at_next_billing_date=False, paused_until=PERIOD_END
    )

    action, fields = confirming_form(dont_pause)
    answer = await http.post(action, data=fields)

    assert fields["confirmed"] == "dont_pause"
    assert (answer.status_code, heading(answer)) == (200, "Unpause Library Personal")
    assert f"is charged on {format_day(utcnow(), 'en')}." in answer.text
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.PAUSED


async def test_removing_a_card_asks_first(http, context) -> None:
    shop = await subscriber(context, cards=("pm_card_visa", "pm_card_mastercard"))
    visa = shop.cards["pm_card_visa"]
    await sign_in(http, await business_token(shop.customer))
    page = await http.get("/payment-methods")
    address = f"/payment-methods/remove?business={shop.business.id}&payment_method_id={visa.id}"

    shown = await http.get(address)
    unconfirmed = await post_unconfirmed(http, shown)
    attached = await PaymentMethod.get(id=visa.id)
    _, confirmed = await confirm(http, address)

    assert f'href="{address.replace("&", "&amp;")}"' in page.text
    assert heading(shown) == "Remove card"
    assert "Visa •••• 4242</bdi> is removed from Sakura Fonts and can no longer pay." in cards_named(shown)
    assert f'href="/payment-methods?business={shop.business.id}">Cancel</a>' in shown.text
    assert unconfirmed.status_code == 200 and attached.detached_at is None
    assert confirmed.headers["location"] == f"/payment-methods?business={shop.business.id}&updated=removed"
    assert (await PaymentMethod.get(id=visa.id)).detached_at is not None


async def test_deactivating_a_device_asks_first(http) -> None:
    shop = await licensed(devices=("Laptop", "Desktop"))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id, name="Laptop")
    path = f"/license-keys/{shop.key.id}"
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(path)
    shown = await http.get(f"{path}/deactivate?instance_id={laptop.id}")
    unconfirmed = await post_unconfirmed(http, shown)
    devices = await device_names(shop.key)
    _, confirmed = await confirm(http, f"{path}/deactivate?instance_id={laptop.id}")

    assert f'<form class="row-actions" method="get" action="{path}/deactivate">' in page.text
    assert heading(shown) == "Deactivate Laptop"
    assert "The key stops working on this device, and one activation is freed for another device." in shown.text
    assert unconfirmed.status_code == 200 and devices == ["Desktop", "Laptop"]
    assert confirmed.headers["location"] == f"{path}?updated=instance_deactivated"
    assert await device_names(shop.key) == ["Desktop"]


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("resume", {"cancel_at_next_billing_date": True}),
        ("unpause", {"status": SubscriptionStatus.PAUSED}),
        ("unpause", {"pause_at_next_billing_date": True}),
        ("pause?cycles=1", {}),
    ],
)
async def test_a_foreign_subscriptions_confirmation_is_not_found_like_a_missing_one(
    http, context, action: str, fields: dict
) -> None:
    mine = await shop_with(context)
    theirs = await shop_with(context, email="eve@example.com", business_name="Northwind", **fields)
    await configure(theirs, subscription_pause={"enabled": True})
    await signed_in(http, mine)

    answers = []
    for asked in (theirs.subscription.id, "sub_missing"):
        answer = await http.get(f"/subscriptions/{asked}/{action}")
        answers.append((answer.status_code, without_noise(answer, asked)))

    assert answers[0][0] == 404 and answers[0] == answers[1]
    assert "Northwind" not in answers[0][1]


async def test_a_foreign_card_on_a_confirmation_is_not_found_like_a_missing_one(http, context) -> None:
    mine = await subscriber(context, cards=("pm_card_visa",))
    theirs = await subscriber(context, email="eve@example.com", business_name="Northwind", cards=("pm_card_visa",))
    their_card = theirs.cards["pm_card_visa"]
    await sign_in(http, await business_token(mine.customer))

    answers = []
    for asked in (their_card.id, "pm_missing"):
        answer = await http.get(f"/payment-methods/remove?payment_method_id={asked}")
        answers.append((answer.status_code, without_noise(answer, asked)))
    unconfirmed = await http.post(
        "/payment-methods",
        data={"csrf_token": csrf_from(await http.get("/")), "change": "remove", "payment_method_id": their_card.id},
    )

    assert answers[0][0] == 404 and answers[0] == answers[1]
    assert unconfirmed.status_code == 404
    assert await PaymentMethod.filter(detached_at__isnull=False).count() == 0


async def test_a_foreign_device_on_a_confirmation_is_not_found_like_a_missing_one(http) -> None:
    mine = await licensed(devices=("Laptop",))
    theirs = await licensed("NORTHWIND-0001", business_name="Northwind", email="eve@example.com", devices=("Server",))
    their_device = await LicenseKeyInstance.get(license_key=theirs.key)
    await sign_in(http, await business_token(mine.customer))
    path = f"/license-keys/{mine.key.id}/deactivate"

    answers = []
    for asked in (their_device.id, "lki_missing"):
        answer = await http.get(f"{path}?instance_id={asked}")
        answers.append((answer.status_code, without_noise(answer, asked)))
    on_their_key = await http.get(f"/license-keys/{theirs.key.id}/deactivate?instance_id={their_device.id}")

    assert answers[0][0] == 404 and answers[0] == answers[1]
    assert on_their_key.status_code == 404 and "Server" not in on_their_key.text
    assert await device_names(theirs.key) == ["Server"]


async def test_every_confirming_form_needs_the_csrf_token(http, context) -> None:
    shop = await shop_with(context, status=SubscriptionStatus.PAUSED)
    await sign_in(http, await business_token(shop.customer))
    path = f"/subscriptions/{shop.subscription.id}"
    visa = shop.cards["pm_card_visa"]
    keys = await licensed(devices=("Laptop",))
    laptop = await LicenseKeyInstance.get(license_key=keys.key)
    confirmations = [
        await http.get(f"{path}/unpause"),
        await http.get(f"/payment-methods/remove?payment_method_id={visa.id}"),
    ]
    await sign_in(http, await business_token(keys.customer))
    confirmations.append(await http.get(f"/license-keys/{keys.key.id}/deactivate?instance_id={laptop.id}"))

    answers = []
    for page in confirmations:
        action, fields = confirming_form(page)
        assert fields["csrf_token"] == csrf_from(page)
        answers.append(await http.post(action, data={**fields, "csrf_token": "0" * 64}))

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert (await Subscription.get(id=shop.subscription.id)).status == SubscriptionStatus.PAUSED
    assert (await PaymentMethod.get(id=visa.id)).detached_at is None
    assert await device_names(keys.key) == ["Laptop"]


@pytest.mark.parametrize("locale", ["ja", "ar"])
async def test_a_confirmation_renders_in_other_languages(http, context, locale: str) -> None:
    shop = await shop_with(context, status=SubscriptionStatus.PAUSED)
    path = await signed_in(http, shop)

    page = await http.get(f"{path}/unpause?locale={locale}")

    assert page.status_code == 200
    assert f'lang="{locale}" dir="{"rtl" if locale == "ar" else "ltr"}"' in page.text
    assert page.text.count("<h1>") == 1 and "<main" in page.text
