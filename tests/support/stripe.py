"""What the Stripe tests share: a billing context that opens the businesses' sealed Stripe keys and talks to the
emulator, a test-mode shop connected to it, cards made the way Stripe.js makes them, and event deliveries signed as
Stripe signs them."""

import json
import time
import uuid
from dataclasses import dataclass

import stripe

from billing.context import BillingContext
from billing.processors.sandbox import SandboxProcessor
from billing.processors.stripe import KEY
from core.secret_box import SecretBox
from merchants.stripe_accounts import StripeKeys, connect_stripe
from models import PaymentMethod, Subscription
from models.enums import SubscriptionStatus
from tests.support.billing import BASE_URL, Subscriber, add_card, subscriber
from tests.support.localstripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

BOX = SecretBox(["credentials-key-for-tests"])
VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
ALWAYS_3DS = "4000002760003184"


def stripe_context(api_base: str) -> BillingContext:
    return BillingContext(
        processor=SandboxProcessor(base_url=BASE_URL, secret="test-secret-key"),
        base_url=BASE_URL,
        portal_name="Customer Portal",
        secret_key="test-secret-key",
        credentials=BOX,
        stripe_api_base=api_base,
    )


@dataclass
class StripeShop:
    shop: Subscriber
    context: BillingContext
    api: stripe.StripeClient

    async def card(self, number: str = VISA) -> PaymentMethod:
        """A card typed into Stripe.js (a PaymentMethod at Stripe), saved by the portal."""
        made = await self.api.v1.payment_methods.create_async(
            params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
        )
        return await add_card(self.shop.customer, made.id, self.context)

    async def intents(self) -> list[stripe.PaymentIntent]:
        """Every PaymentIntent the emulator holds for the portal's keys."""
        listed = await self.api.v1.payment_intents.list_async(params={"limit": 100})
        return [intent for intent in listed.data if KEY in intent.metadata]


async def stripe_shop(
    api_base: str, api: stripe.StripeClient, *, status: SubscriptionStatus = SubscriptionStatus.ON_HOLD, **fields
) -> StripeShop:
    """A test-mode subscriber whose business connected Stripe (test keys), paying with a Visa saved through it."""
    context = stripe_context(api_base)
    shop = await subscriber(context, status=status, cards=(), livemode=False, **fields)
    await connect_stripe(shop.business, StripeKeys(SECRET_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET), BOX)
    connected = StripeShop(shop, context, api)
    visa = await connected.card()
    await Subscription.filter(id=shop.subscription.id).update(payment_method_id=visa.id)
    await shop.subscription.refresh_from_db()
    shop.cards["visa"] = visa
    return connected


def signed(event_type: str, data: dict, *, secret: str = WEBHOOK_SECRET, livemode: bool = False, event_id: str = ""):
    """An event delivery as Stripe makes it: the JSON body and its `Stripe-Signature` header."""
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "livemode": livemode,
            "created": int(time.time()),
            "api_version": "2024-06-20",
            "data": {"object": data},
        }
    )
    return body.encode(), stripe.WebhookSignature.generate_signature_header(body, secret)
