"""The Stripe payment processor: one business's own Stripe account in one mode, through the official SDK.

- A Stripe Customer stands for each customer record (models.StripeCustomer), made the first time it is needed.
- A card is saved through a SetupIntent that Stripe.js confirms on the portal's own add-card page (the card number
  never reaches the portal); the PaymentMethod it leaves is attached to the Stripe Customer if Stripe did not.
- A charge is a PaymentIntent confirmed at once with the saved PaymentMethod, `off_session` when the customer is
  away (renewals, the billing run). Our idempotency key goes both to Stripe (`Idempotency-Key`) and into the
  PaymentIntent's metadata. Before Stripe is asked, the key is claimed in models.StripeIntent: of concurrent charges
  under one key one creates the PaymentIntent and the others wait for its id; a claim left by a process that died
  mid-call is taken over once stale, and the PaymentIntent is first looked for by the key in its metadata, so a
  crash between Stripe's answer and our commit never makes a second one.
- `requires_action` (3-D Secure, with `use_stripe_sdk` or `redirect_to_url`) sends the customer to the portal's
  authentication page, where Stripe.js leads them through their bank; off-session it fails as
  `authentication_required` and the PaymentIntent is cancelled.
- Refunds are Stripe Refunds of the PaymentIntent, looked for by our key in their metadata before one is made.

Stripe-compatible test servers differ: localstripe ignores idempotency keys (the claim and the metadata lookups
make up for it), refuses parameters it does not know (only those it knows are sent), refuses the `customer` filter
on listing PaymentIntents (the lookup then lists them all and filters here), and embeds `latest_charge`.
"""

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import stripe
from stripe.params import CustomerCreateParams, PaymentIntentCreateParams, SetupIntentCreateParams
from tortoise.exceptions import IntegrityError

from billing.processors.protocol import (
    CardDetails,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineCode,
    ProcessorError,
)
from core.clock import utcnow
from merchants.stripe_accounts import StripeCredentials
from models import Customer, StripeCustomer, StripeIntent

INVALID_TOKEN = "invalid_token"
IDEMPOTENCY_MISMATCH = "idempotency_key_in_use"
REFUND_NOT_POSSIBLE = "refund_not_possible"
STRIPE_API_BASE = "https://api.stripe.com"
# The API version the adapter was written against (requests name `payment_method_types`, which the SDK's newer
# types call `allowed_payment_method_types`, and localstripe knows by the older name only).
STRIPE_API_VERSION = "2024-06-20"
# The portal's pages that Stripe.js runs on (gateway serves them): adding a card, authenticating a charge.
SETUP_PATH = "/stripe/setup/"
AUTHENTICATE_PATH = "/stripe/authenticate/"
KEY = "portal_idempotency_key"
CUSTOMER = "portal_customer"
# Stripe keeps metadata values to 500 characters: a longer return address is kept in several.
_RETURN_URL = "portal_return_url_{}"
_METADATA_VALUE = 500
# Longer than the SDK's own 80 s timeout: a claim this old belongs to a request that died.
CLAIM_STALE_AFTER = timedelta(seconds=90)
# How long a concurrent charge under the same key waits for the first one's PaymentIntent before answering PENDING.
_WAIT_SECONDS = 20.0
_POLL_SECONDS = 0.05
_LOOKUP_LIMIT = 100

# Stripe's decline codes (`decline_code`, else the error's `code`) as ours.
DECLINES: dict[str, DeclineCode] = {
    "card_declined": DeclineCode.CARD_DECLINED,
    "generic_decline": DeclineCode.CARD_DECLINED,
    "do_not_honor": DeclineCode.CARD_DECLINED,
    "fraudulent": DeclineCode.CARD_DECLINED,
    "lost_card": DeclineCode.CARD_DECLINED,
    "stolen_card": DeclineCode.CARD_DECLINED,
    "pickup_card": DeclineCode.CARD_DECLINED,
    "restricted_card": DeclineCode.CARD_DECLINED,
    "card_not_supported": DeclineCode.CARD_DECLINED,
    "card_velocity_exceeded": DeclineCode.CARD_DECLINED,
    "insufficient_funds": DeclineCode.INSUFFICIENT_FUNDS,
    "expired_card": DeclineCode.EXPIRED_CARD,
    "incorrect_cvc": DeclineCode.INCORRECT_CVC,
    "invalid_cvc": DeclineCode.INCORRECT_CVC,
    "authentication_required": DeclineCode.AUTHENTICATION_REQUIRED,
    "payment_intent_authentication_failure": DeclineCode.AUTHENTICATION_FAILED,
    "processing_error": DeclineCode.PROCESSING_ERROR,
}


def decline_code(error: Any) -> DeclineCode:
    """Our code for a Stripe error object (a PaymentIntent's `last_payment_error`, a CardError's `error`)."""
    if not error:
        return DeclineCode.PROCESSING_ERROR
    for candidate in (_get(error, "decline_code"), _get(error, "code")):
        if candidate in DECLINES:
            return DECLINES[candidate]
    return DeclineCode.CARD_DECLINED if _get(error, "type") == "card_error" else DeclineCode.PROCESSING_ERROR


def _get(stripe_object: Any, name: str) -> Any:
    """A field of a Stripe object (or of a plain dict), None when it has none."""
    if isinstance(stripe_object, dict):
        return stripe_object.get(name)
    return getattr(stripe_object, name, None)


def _id(value: Any) -> str:
    """An id Stripe gives either as it is or embedded in its object (localstripe embeds `latest_charge`)."""
    if value is None or isinstance(value, str):
        return value or ""
    return str(_get(value, "id") or "")


def _stripe_key(key: str) -> str:
    # Stripe takes idempotency keys of up to 255 characters; ours may be longer (a refund's holds a client's).
    return key if len(key) <= 255 else hashlib.sha256(key.encode()).hexdigest()


def _request_fingerprint(request: ChargeRequest) -> str:
    asked = f"{request.customer_reference}|{request.token}|{request.amount}|{request.currency}|{request.off_session}"
    return hashlib.sha256(asked.encode()).hexdigest()


def return_url_metadata(return_url: str) -> dict[str, str]:
    chunks = [return_url[start : start + _METADATA_VALUE] for start in range(0, len(return_url), _METADATA_VALUE)]
    return {_RETURN_URL.format(index): chunk for index, chunk in enumerate(chunks)}


def return_url_of(metadata: Any) -> str:
    """The return address `return_url_metadata` kept in a Stripe object's metadata."""
    parts: list[str] = []
    while (part := _get(metadata, _RETURN_URL.format(len(parts)))) is not None:
        parts.append(str(part))
    return "".join(parts)


@dataclass(frozen=True)
class StripeRefund:
    """A Refund at Stripe of one of our PaymentIntents; `ours` when the portal asked for it (our key is in it)."""

    id: str
    amount: int
    status: str
    ours: bool


class StripeProcessor:
    """The PaymentProcessor of one connected Stripe account in one mode. `base_url` is where the portal's own
    add-card and authentication pages are served; `api_base` is Stripe's API (or a compatible test server)."""

    def __init__(
        self, credentials: StripeCredentials, *, base_url: str, api_base: str = STRIPE_API_BASE, timeout: float = 80
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.client = stripe.StripeClient(
            credentials.secret_key,
            stripe_account=credentials.connected_account or None,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=stripe.HTTPXClient(timeout=timeout),
            max_network_retries=2,
        )

    def __repr__(self) -> str:
        mode = "live" if self.credentials.livemode else "test"
        return f"StripeProcessor(business={self.credentials.business_id}, {mode})"

    @property
    def page_prefix(self) -> str:
        """`{business}/{mode}/`: which account's credentials the portal's Stripe pages use."""
        return f"{self.credentials.business_id}/{'live' if self.credentials.livemode else 'test'}/"

    # --- customers and cards ------------------------------------------------------------------------------------

    async def stripe_customer(self, customer_reference: str) -> str:
        """The Stripe Customer of our customer record, made on first need (two at once keep the first stored)."""
        known = await StripeCustomer.get_or_none(customer_id=customer_reference)
        if known is not None:
            return known.stripe_id
        customer = await Customer.get_or_none(id=customer_reference)
        if customer is None:
            raise ProcessorError(INVALID_TOKEN)
        params: CustomerCreateParams = {"email": customer.email, "metadata": {CUSTOMER: customer.id}}
        if customer.name:
            params["name"] = customer.name
        created = await self.client.v1.customers.create_async(
            params=params, options={"idempotency_key": f"customer:{customer.id}"}
        )
        try:
            await StripeCustomer.create(customer_id=customer.id, stripe_id=created.id)
        except IntegrityError:
            return (await StripeCustomer.get(customer_id=customer.id)).stripe_id
        return created.id

    async def attach(self, token: str, *, customer_reference: str) -> CardDetails:
        owner = await self.stripe_customer(customer_reference)
        try:
            method = await self._attached(token, owner)
        except stripe.InvalidRequestError:
            raise ProcessorError(INVALID_TOKEN) from None
        except stripe.CardError as error:
            raise ProcessorError(decline_code(error.error)) from None
        card = method.card
        if card is None:
            raise ProcessorError(INVALID_TOKEN)
        return CardDetails(
            token=method.id,
            brand=str(card.brand),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
            fingerprint=str(card.fingerprint or ""),
        )

    async def _attached(self, token: str, owner: str) -> stripe.PaymentMethod:
        methods = self.client.v1.payment_methods
        if not token.startswith("pm_card_"):
            # Stripe's test tokens (`pm_card_visa`) make a new PaymentMethod on every use: attach them at once.
            method = await methods.retrieve_async(token)
            holder = _id(method.customer)
            if holder == owner:
                return method
            if holder:
                raise ProcessorError(INVALID_TOKEN)
        return await methods.attach_async(token, params={"customer": owner})

    async def start_setup(self, *, customer_reference: str, return_url: str) -> str:
        metadata = {CUSTOMER: customer_reference, **return_url_metadata(return_url)}
        params = {
            "customer": await self.stripe_customer(customer_reference),
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": metadata,
        }
        setup = await self.client.v1.setup_intents.create_async(params=cast(SetupIntentCreateParams, params))
        return f"{self.base_url}{SETUP_PATH}{self.page_prefix}{setup.id}"

    # --- charges ------------------------------------------------------------------------------------------------

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        fingerprint = _request_fingerprint(request)
        claim = await StripeIntent.get_or_none(idempotency_key=request.idempotency_key)
        if claim is None:
            try:
                claim = await StripeIntent.create(
                    idempotency_key=request.idempotency_key, request_fingerprint=fingerprint, claimed_at=utcnow()
                )
            except IntegrityError:
                claim = await StripeIntent.get(idempotency_key=request.idempotency_key)
            else:
                return await self._create_intent(claim, request, look_first=False)
        if claim.request_fingerprint != fingerprint:
            raise ProcessorError(IDEMPOTENCY_MISMATCH)
        return await self._answer_for(claim, request)

    async def _answer_for(self, claim: StripeIntent, request: ChargeRequest) -> ChargeResult:
        """The answer of a key claimed before: its PaymentIntent once known; a stale claim is taken over."""
        waited = 0.0
        while not claim.payment_intent:
            if claim.claimed_at < utcnow() - CLAIM_STALE_AFTER:
                taken = await StripeIntent.filter(id=claim.id, claimed_at=claim.claimed_at, payment_intent="").update(
                    claimed_at=utcnow()
                )
                if taken:
                    return await self._create_intent(claim, request, look_first=True)
            if waited >= _WAIT_SECONDS:
                return ChargeResult(ChargeStatus.PENDING, "")
            await asyncio.sleep(_POLL_SECONDS)
            waited += _POLL_SECONDS
            await claim.refresh_from_db()
        intent = await self.client.v1.payment_intents.retrieve_async(claim.payment_intent)
        return await self._result(intent, request.off_session)

    async def _create_intent(self, claim: StripeIntent, request: ChargeRequest, *, look_first: bool) -> ChargeResult:
        """Make (or, after a crash, find) the key's PaymentIntent and remember its id. A failure other than a
        decline releases the claim, so that the retry asks again at once."""
        try:
            found = await self.find_intent(request) if look_first else None
            if found is not None:
                result = await self._result(found, request.off_session)
            else:
                result = await self._confirmed_intent(request)
        except ProcessorError:
            await StripeIntent.filter(id=claim.id).delete()
            raise
        except BaseException:
            stale = utcnow() - CLAIM_STALE_AFTER - timedelta(seconds=1)
            await StripeIntent.filter(id=claim.id, payment_intent="").update(claimed_at=stale)
            raise
        if result.reference:
            await StripeIntent.filter(id=claim.id).update(payment_intent=result.reference)
        else:
            await StripeIntent.filter(id=claim.id).delete()
        return result

    async def _confirmed_intent(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "customer": await self.stripe_customer(request.customer_reference),
            "payment_method": request.token,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": {KEY: request.idempotency_key, **return_url_metadata(request.return_url)},
        }
        if request.off_session:
            params["off_session"] = True
        try:
            intent = await self.client.v1.payment_intents.create_async(
                params=cast(PaymentIntentCreateParams, params),
                options={"idempotency_key": _stripe_key(request.idempotency_key)},
            )
        except stripe.CardError as error:
            # Stripe names the declined PaymentIntent in the error; localstripe does not, so it is looked up.
            declined = _get(error.error, "payment_intent") or await self.find_intent(request)
            return ChargeResult(ChargeStatus.FAILED, _id(declined), decline_code(error.error))
        except stripe.InvalidRequestError:
            raise ProcessorError(INVALID_TOKEN) from None
        return await self._result(intent, request.off_session)

    async def find_intent(self, request: ChargeRequest) -> stripe.PaymentIntent | None:
        """The PaymentIntent carrying our key in its metadata, among the customer's latest."""
        owner = await self.stripe_customer(request.customer_reference)
        intents = self.client.v1.payment_intents
        try:
            listed = await intents.list_async(params={"customer": owner, "limit": _LOOKUP_LIMIT})
        except stripe.InvalidRequestError:
            # A test server that cannot filter by customer (localstripe): all of them, filtered here.
            listed = await intents.list_async(params={"limit": _LOOKUP_LIMIT})
        return next(
            (
                intent
                for intent in listed.data
                if _get(intent.metadata, KEY) == request.idempotency_key and _id(intent.customer) == owner
            ),
            None,
        )

    async def _result(self, intent: stripe.PaymentIntent, off_session: bool) -> ChargeResult:
        status = intent.status
        if status == "succeeded":
            return ChargeResult(ChargeStatus.SUCCEEDED, intent.id)
        if status == "requires_action" and off_session:
            # Nobody is there to authenticate it: give it up, as Stripe itself does off-session.
            await self.client.v1.payment_intents.cancel_async(intent.id)
            return ChargeResult(ChargeStatus.FAILED, intent.id, DeclineCode.AUTHENTICATION_REQUIRED)
        if status == "requires_action":
            url = f"{self.base_url}{AUTHENTICATE_PATH}{self.page_prefix}{intent.id}"
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, intent.id, next_action_url=url)
        if status in ("processing", "requires_confirmation"):
            return ChargeResult(ChargeStatus.PENDING, intent.id)
        if status == "requires_payment_method":
            return ChargeResult(ChargeStatus.FAILED, intent.id, decline_code(intent.last_payment_error))
        return ChargeResult(ChargeStatus.FAILED, intent.id, DeclineCode.PROCESSING_ERROR)

    async def complete_charge(self, reference: str) -> ChargeResult:
        try:
            intent = await self.client.v1.payment_intents.retrieve_async(reference)
        except stripe.InvalidRequestError:
            raise ProcessorError(INVALID_TOKEN) from None
        return await self._result(intent, off_session=False)

    async def payment_intent(self, reference: str) -> stripe.PaymentIntent:
        """The PaymentIntent as Stripe has it now (for the authentication page)."""
        return await self.client.v1.payment_intents.retrieve_async(reference)

    async def setup_intent(self, setup_id: str) -> stripe.SetupIntent:
        """The SetupIntent as Stripe has it now (for the add-card page)."""
        return await self.client.v1.setup_intents.retrieve_async(setup_id)

    # --- refunds ------------------------------------------------------------------------------------------------

    async def refund(self, reference: str, amount: int, *, idempotency_key: str) -> None:
        refunds = self.client.v1.refunds
        try:
            listed = await refunds.list_async(params={"payment_intent": reference, "limit": _LOOKUP_LIMIT})
            earlier = next((made for made in listed.data if _get(made.metadata, KEY) == idempotency_key), None)
            if earlier is not None:
                if earlier.amount != amount:
                    raise ProcessorError(IDEMPOTENCY_MISMATCH)
                return
            await refunds.create_async(
                params={"payment_intent": reference, "amount": amount, "metadata": {KEY: idempotency_key}},
                options={"idempotency_key": _stripe_key(f"refund:{idempotency_key}")},
            )
        except (stripe.InvalidRequestError, stripe.CardError):
            raise ProcessorError(REFUND_NOT_POSSIBLE) from None

    async def refunds_of(self, reference: str) -> list[StripeRefund]:
        """Every Refund of the PaymentIntent, made in the portal or in Stripe's dashboard."""
        listed = await self.client.v1.refunds.list_async(params={"payment_intent": reference, "limit": _LOOKUP_LIMIT})
        return [
            StripeRefund(made.id, made.amount, str(made.status), _get(made.metadata, KEY) is not None)
            for made in listed.data
        ]

    async def intent_of_charge(self, charge_id: str) -> str:
        """The PaymentIntent a Charge belongs to (older events name only the Charge)."""
        return _id((await self.client.v1.charges.retrieve_async(charge_id)).payment_intent)
