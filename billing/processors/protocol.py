"""The PaymentProcessor interface: everything the portal asks of whoever moves the money.

The portal never sees a card number. A processor's hosted page turns one into a token; the portal attaches the
token to a customer and keeps only what `attach` reads back (brand, last four, expiry, fingerprint). Every charge
carries an idempotency key, and a processor answers a repeated key with the first charge's result, which is what
lets the portal retry a charge whose outcome it never recorded.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    # No answer yet (another request under the same key is still asking): ask again later.
    PENDING = "pending"


class DeclineCode(StrEnum):
    """Why a processor refused a card or a charge: Stripe's decline codes, which developers already know."""

    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    AUTHENTICATION_FAILED = "authentication_failed"
    AUTHENTICATION_REQUIRED = "authentication_required"
    PROCESSING_ERROR = "processing_error"
    # Ours, not the processor's: the change a payment was for was made another way meanwhile, so it was refunded.
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class CardDetails:
    """What a processor tells about an attached card: enough to show it, never enough to charge it elsewhere."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str
    decline_code: DeclineCode | None = None
    next_action_url: str = ""


@dataclass(frozen=True)
class ChargeRequest:
    """One charge of a saved card, for the customer record `customer_reference`. `return_url` is where the customer
    comes back after authenticating it; `off_session` says the customer is away (a renewal, the billing run), so a
    charge that needs them fails instead of waiting."""

    token: str
    amount: int
    currency: str
    idempotency_key: str
    return_url: str = ""
    customer_reference: str = ""
    off_session: bool = False


class ProcessorError(Exception):
    """The processor refused a request; `code` says why (a DeclineCode value or `invalid_token`, …)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PaymentProcessor(Protocol):
    async def attach(self, token: str, *, customer_reference: str) -> CardDetails:
        """Attach a tokenised card to a customer (our customer id) and read back its public details.

        Raises ProcessorError for an unknown token or one that belongs to someone else."""

    async def start_setup(self, *, customer_reference: str, return_url: str) -> str:
        """The URL of the hosted "add a card" page; it sends the customer back to `return_url` with
        `processor_token=…` (or `setup_error=…`) in the query."""

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge a saved card once per idempotency key; a repeated key answers the first charge's result.

        Raises ProcessorError when the same key comes with another request."""

    async def complete_charge(self, reference: str) -> ChargeResult:
        """The outcome of a charge that needed the customer's authentication, once they have been asked."""

    async def refund(self, reference: str, amount: int, *, idempotency_key: str) -> None:
        """Give back part or all of a succeeded charge; raises ProcessorError when that is not possible."""
