"""The expected failures of billing actions: a stable code, the input to blame and a sentence for the customer.

Messages are English source strings of the gettext catalogs (core/locale); whoever shows one translates it into
the reader's language, so the domain stays free of request state. `N_` only marks a string for extraction.
"""

from collections.abc import Mapping
from enum import StrEnum

from billing.processors.protocol import DeclineCode
from core.errors import N_, DomainError


class BillingErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    NOT_ALLOWED = "NOT_ALLOWED"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_PAYMENT_METHOD = "INVALID_PAYMENT_METHOD"
    LAST_PAYMENT_METHOD = "LAST_PAYMENT_METHOD"
    CARD_DECLINED = "CARD_DECLINED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    EXPIRED_CARD = "EXPIRED_CARD"
    INCORRECT_CVC = "INCORRECT_CVC"
    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CHANGE_IN_PROGRESS = "CHANGE_IN_PROGRESS"
    SUPERSEDED = "SUPERSEDED"
    PAYMENT_NOT_REFUNDABLE = "PAYMENT_NOT_REFUNDABLE"
    REFUND_AMOUNT_INVALID = "REFUND_AMOUNT_INVALID"
    DUPLICATE_SUBSCRIPTION = "DUPLICATE_SUBSCRIPTION"


MESSAGES: dict[BillingErrorCode, str] = {
    BillingErrorCode.NOT_FOUND: N_("There is nothing with that id here."),
    BillingErrorCode.NOT_ALLOWED: N_("This is not possible for this subscription."),
    BillingErrorCode.INVALID_INPUT: N_("This value is not valid."),
    BillingErrorCode.INVALID_PAYMENT_METHOD: N_("This card could not be added. Add it again."),
    BillingErrorCode.LAST_PAYMENT_METHOD: N_(
        "This is your only card for an active subscription. Add another card before you remove it."
    ),
    BillingErrorCode.CARD_DECLINED: N_("Your card was declined. Try another card."),
    BillingErrorCode.INSUFFICIENT_FUNDS: N_("Your card has insufficient funds. Try another card."),
    BillingErrorCode.EXPIRED_CARD: N_("Your card has expired. Try another card."),
    BillingErrorCode.INCORRECT_CVC: N_("Your card's security code is incorrect. Add the card again."),
    BillingErrorCode.AUTHENTICATION_REQUIRED: N_("Your bank asks you to confirm this payment."),
    BillingErrorCode.AUTHENTICATION_FAILED: N_("The payment was not confirmed with your bank. Try again."),
    BillingErrorCode.PROCESSING_ERROR: N_("The payment could not be processed. Try again."),
    BillingErrorCode.IDEMPOTENCY_KEY_REUSED: N_("This request's idempotency key was already used for another request."),
    BillingErrorCode.SUPERSEDED: N_("This change was already made another way, so this payment was refunded."),
    BillingErrorCode.CHANGE_IN_PROGRESS: N_("Another change to this subscription is in progress. Try again."),
    BillingErrorCode.PAYMENT_NOT_REFUNDABLE: N_("Only a succeeded payment with money left to refund can be refunded."),
    BillingErrorCode.REFUND_AMOUNT_INVALID: N_("Refund an amount from 1 to %(maximum)s, in the currency's minor unit."),
    BillingErrorCode.DUPLICATE_SUBSCRIPTION: N_(
        "This customer got a subscription to this product less than a minute ago. To retry, send the same key."
    ),
}

NOT_ALLOWED_ELSEWHERE = N_("This card is saved at another business; it can only pay that business's subscriptions.")
NOTHING_DUE = N_("This subscription is not on hold: there is nothing to pay.")
CANCELLATION_OFF = N_("This business does not allow cancelling online. Contact them to cancel.")
CANCEL_NOW_OFF = N_("This subscription can only be cancelled at the end of its billing period.")
NOT_CANCELLABLE = N_("This subscription cannot be cancelled now.")
NOT_RESUMABLE = N_("This subscription has no cancellation to undo.")
NO_RETENTION_OFFER = N_("There is no offer for this subscription.")
UNKNOWN_REASON = N_("Choose one of the reasons offered.")
PLAN_CHANGE_OFF = N_("This business does not allow changing plans here. Contact them instead.")
NOT_A_PLAN = N_("This plan is not one you can change to.")
SAME_PLAN = N_("This subscription is already on this plan and quantity.")
QUANTITY_OUT_OF_RANGE = N_("Choose a quantity between %(minimum)s and %(maximum)s.")
QUANTITY_FIXED = N_("This business does not allow changing the quantity here. Contact them instead.")
NO_SCHEDULED_CHANGE = N_("This subscription has no scheduled change.")
PAUSE_OFF = N_("This business does not allow pausing subscriptions.")
PAUSE_CYCLES = N_("Pause for between 1 and %(maximum)s billing periods, or until you resume.")
NOT_PAUSABLE = N_("This subscription cannot be paused now.")
NOT_PAUSED = N_("This subscription is not paused.")
ACTIVATIONS_BELOW_INSTANCES = N_("%(instances)s devices use this key: the limit cannot be lower.")
EXPIRY_PASSED = N_("This date has passed: choose a later one.")
NO_PROCESSOR = N_("This business cannot take payments yet. Contact them to pay.")
PAYMENT_METHOD_UPDATE_OFF = N_("This business does not allow changing payment methods here. Contact them instead.")

_DECLINES: dict[str, BillingErrorCode] = {
    DeclineCode.CARD_DECLINED: BillingErrorCode.CARD_DECLINED,
    DeclineCode.INSUFFICIENT_FUNDS: BillingErrorCode.INSUFFICIENT_FUNDS,
    DeclineCode.EXPIRED_CARD: BillingErrorCode.EXPIRED_CARD,
    DeclineCode.INCORRECT_CVC: BillingErrorCode.INCORRECT_CVC,
    DeclineCode.AUTHENTICATION_REQUIRED: BillingErrorCode.AUTHENTICATION_REQUIRED,
    DeclineCode.AUTHENTICATION_FAILED: BillingErrorCode.AUTHENTICATION_FAILED,
    DeclineCode.SUPERSEDED: BillingErrorCode.SUPERSEDED,
}


class BillingError(DomainError[BillingErrorCode]):
    """A billing action that cannot be done as asked; nothing was changed. The message defaults to the code's."""

    def __init__(
        self,
        code: BillingErrorCode,
        field: str | None = None,
        message: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(code, field, message or MESSAGES[code], params)


def decline_error_code(decline_code: str | None) -> BillingErrorCode:
    """The error code a customer sees for a processor's decline code."""
    return _DECLINES.get(decline_code or "", BillingErrorCode.PROCESSING_ERROR)


def decline_message(decline_code: str | None) -> str:
    return MESSAGES[decline_error_code(decline_code)]
