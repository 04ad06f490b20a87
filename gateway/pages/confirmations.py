"""The step before an action that changes what a customer pays or what they can use (unpausing, calling off a pause,
resuming a cancellation, pausing, removing a card, deactivating a device): a page saying what will happen (the amount
and the date of the charge, the dates of a pause, the card or device concerned), with the action's button and
Cancel. The first click opens this page with a GET and changes nothing; its form posts the action with `confirmed`
naming what was shown, and an action posted without it (a page open from before, a forged form) gets this page
instead of being done. It works without JavaScript.

One template (confirm_action.html) words every kind; the pages that own the actions (subscription_changes,
payment_methods, license_keys) decide which kind applies and what the form carries.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from starlette.datastructures import FormData
from starlette.responses import Response

from gateway.pages.signed_in import Visit, form_field

# The form field that says which confirmation the customer answered.
CONFIRMED = "confirmed"


class ConfirmationKind(StrEnum):
    """What is being confirmed: each has its words in confirm_action.html."""

    UNPAUSE = "unpause"
    DONT_PAUSE = "dont_pause"
    RESUME = "resume"
    PAUSE = "pause"
    REMOVE_CARD = "remove_card"
    DEACTIVATE_DEVICE = "deactivate_device"


@dataclass(frozen=True)
class Confirmation:
    """A confirmation step: its kind, what it is about (`subject`, as the page's query answered it), where its form
    posts (`action`, with `fields` beside the CSRF token and `confirmed`) and where Cancel leads (`back`)."""

    kind: ConfirmationKind
    subject: dict
    action: str
    back: str
    fields: dict[str, str] = field(default_factory=dict)


def confirmed(form: FormData, kind: ConfirmationKind) -> bool:
    """Whether the form answers the confirmation of `kind`: a confirmation of something else (the state changed
    since the page was shown, say the pause began) is no answer, so the customer sees what applies now."""
    return form_field(form, CONFIRMED) == kind


def confirmation_page(visit: Visit, business: dict, confirmation: Confirmation) -> Response:
    return visit.page("confirm_action.html", business, confirmation=confirmation, confirmed_field=CONFIRMED)
