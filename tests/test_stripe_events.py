"""Events from a business's Stripe account (localstripe's objects, in events built and signed the way Stripe signs
them): verified, recorded once, and handled by the worker's pass."""

import pytest

from billing.reactivation import reactivate
from billing.refunds import refund_payment
from billing.stripe_events import StripeEventRefused, handle_stripe_events, receive_stripe_event
from core.event_types import EventType
from models import Event, Payment, PaymentMethod, Refund, StripeEvent, Subscription
from models.enums import PaymentStatus, RefundStatus, SubscriptionStatus
from tests.support.billing import FEATURES
from tests.support.localstripe import WEBHOOK_SECRET
from tests.support.stripe import ALWAYS_3DS, StripeShop, signed, stripe_shop


async def deliver(connected: StripeShop, event_type: str, data: dict, **options) -> bool:
    payload, signature = signed(event_type, data, **options)
    business = connected.shop.business.id
    return await receive_stripe_event(business, False, payload, signature, connected.context)


async def paid(connected: StripeShop) -> Payment:
    return await reactivate(
        connected.shop.subscription,
        connected.shop.cards["visa"],
        client_key="k",
        features=FEATURES,
        context=connected.context,
    )


async def waiting_for_3d_secure(connected: StripeShop, approve: bool) -> Payment:
    """A reactivation waiting for its customer, who then answers their bank and closes the page."""
    card = await connected.card(ALWAYS_3DS)
    waiting = await reactivate(
        connected.shop.subscription, card, client_key="k", features=FEATURES, context=connected.context
    )
    intent = await connected.api.v1.payment_intents.retrieve_async(waiting.processor_reference)
    await connected.api.v1.payment_intents._request_async(
        "post",
        f"/v1/payment_intents/{intent.id}/_authenticate",
        base_address="api",
        params={"client_secret": intent.client_secret, "success": "true" if approve else "false"},
    )
    return waiting


async def intent_data(connected: StripeShop, payment: Payment) -> dict:
    return (await connected.api.v1.payment_intents.retrieve_async(payment.processor_reference)).to_dict()


@pytest.mark.parametrize(
    ("approve", "event_type", "status"),
    [
        (True, "payment_intent.succeeded", SubscriptionStatus.ACTIVE),
        (False, "payment_intent.payment_failed", SubscriptionStatus.ON_HOLD),
    ],
)
async def test_a_payment_intent_event_settles_a_payment_the_customer_left(
    stripe_server, stripe_api, approve, event_type, status
) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    waiting = await waiting_for_3d_secure(connected, approve)

    assert await deliver(connected, event_type, await intent_data(connected, waiting))
    assert await handle_stripe_events(connected.context) == 1

    settled = await Payment.get(id=waiting.id)
    assert settled.status == (PaymentStatus.SUCCEEDED if approve else PaymentStatus.FAILED)
    assert (await Subscription.get(id=connected.shop.subscription.id)).status == status


async def test_a_replayed_event_changes_nothing(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    waiting = await waiting_for_3d_secure(connected, approve=True)
    data = await intent_data(connected, waiting)

    assert await deliver(connected, "payment_intent.succeeded", data, event_id="evt_same")
    await handle_stripe_events(connected.context)
    events_before = await Event.all().count()
    assert not await deliver(connected, "payment_intent.succeeded", data, event_id="evt_same")

    assert await handle_stripe_events(connected.context) == 0
    assert await StripeEvent.all().count() == 1
    assert await Event.all().count() == events_before


@pytest.mark.parametrize(("secret", "livemode"), [("whsec_someoneelse000", False), (WEBHOOK_SECRET, True)])
async def test_a_bad_signature_or_another_modes_event_is_refused_with_nothing_recorded(
    stripe_server, stripe_api, secret, livemode
) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)

    with pytest.raises(StripeEventRefused):
        await deliver(connected, "payment_intent.succeeded", {"id": "pi_x"}, secret=secret, livemode=livemode)

    assert not await StripeEvent.exists()


async def test_a_refund_made_in_stripes_dashboard_becomes_a_refund_with_its_credit_note(
    stripe_server, stripe_api
) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    payment = await paid(connected)
    await refund_payment(payment, 300, "", client_key="portal-refund", context=connected.context)
    await stripe_api.v1.refunds.create_async(params={"payment_intent": payment.processor_reference, "amount": 200})
    charge = {"id": "ch_x", "object": "charge", "payment_intent": payment.processor_reference}

    await deliver(connected, "charge.refunded", charge)
    await deliver(connected, "charge.refunded", charge)
    assert await handle_stripe_events(connected.context) == 2

    refunds = await Refund.filter(payment_id=payment.id).order_by("amount")
    assert [(refund.amount, refund.status) for refund in refunds] == [
        (200, RefundStatus.SUCCEEDED),
        (300, RefundStatus.SUCCEEDED),
    ]
    assert all(refund.credit_note_number for refund in refunds)


async def test_a_dispute_marks_the_payment_and_tells_the_merchant_once(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    payment = await paid(connected)
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 980,
        "currency": "jpy",
        "reason": "fraudulent",
        "charge": "ch_x",
        "payment_intent": payment.processor_reference,
    }

    await deliver(connected, "charge.dispute.created", dispute)
    await deliver(connected, "charge.dispute.created", dispute)
    await handle_stripe_events(connected.context)

    assert (await Payment.get(id=payment.id)).disputed_at is not None
    [opened] = await Event.filter(type=EventType.DISPUTE_OPENED)
    assert opened.data["payment_id"] == payment.id
    assert (opened.data["dispute_id"], opened.data["amount"], opened.data["currency"]) == ("dp_1", "980", "JPY")


@pytest.mark.parametrize("event_type", ["payment_method.updated", "payment_method.automatically_updated"])
async def test_a_card_updated_at_stripe_updates_the_saved_card(stripe_server, stripe_api, event_type) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    visa = connected.shop.cards["visa"]
    card = {"brand": "visa", "last4": "4242", "exp_month": 3, "exp_year": 2034}

    await deliver(connected, event_type, {"id": visa.processor_token, "object": "payment_method", "card": card})
    await handle_stripe_events(connected.context)

    saved = await PaymentMethod.get(id=visa.id)
    assert (saved.exp_month, saved.exp_year) == (3, 2034)


async def test_a_card_detached_at_stripe_leaves_the_portal_and_its_subscription(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    visa = connected.shop.cards["visa"]
    other = await connected.card("5555555555554444")  # another card: the same one again would be the same row

    await deliver(connected, "payment_method.detached", {"id": visa.processor_token, "object": "payment_method"})
    await handle_stripe_events(connected.context)

    assert (await PaymentMethod.get(id=visa.id)).detached_at is not None
    assert (await Subscription.get(id=connected.shop.subscription.id)).payment_method_id == other.id


async def test_an_unknown_event_is_acknowledged_and_ignored(stripe_server, stripe_api) -> None:
    connected = await stripe_shop(stripe_server, stripe_api)
    events_before = await Event.all().count()

    assert await deliver(connected, "customer.created", {"id": "cus_x", "object": "customer"})

    assert await handle_stripe_events(connected.context) == 1
    assert (await StripeEvent.get()).handled_at is not None
    assert await Event.all().count() == events_before
