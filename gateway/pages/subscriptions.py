"""A subscription's own page (`/subscriptions/{id}`) and what the customer does there: pay an on-hold
subscription's dues and reactivate it, or a past-due one's failed renewal (Pay now), with the confirmation page and
the return from 3-D Secure; choose the saved card that pays it (`/subscriptions/{id}/payment-method`), and subscribe
again once it ended (on to the checkout, gateway.pages.checkout). The page, the receipt of a payment and the return
from 3-D Secure serve the changes of `subscription_changes` (cancel, change plan, pause) as well.

Every read and write is the customer GraphQL schema's (`node`, `reactivateSubscription`, `completePayment`,
`updateSubscriptionPaymentMethod`, `subscribeAgain`), so an id outside the session's scope answers like one that
does not exist.
"""

import secrets
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from access.deep_links import PLAN_CHANGE_FLOWS
from gateway.pages.common import PRICE_FIELDS
from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    METHOD_FIELDS,
    NOT_FOUND,
    Visit,
    back_to_page,
    form_field,
    redirect,
    route,
    signed_in,
    signed_in_form,
    with_params,
)
from gateway.settings import Settings

# The newest invoices the page lists; the billing history has them all.
INVOICES_SHOWN = 6
SUBSCRIPTION_QUERY = f"""
query SubscriptionPage($id: ID!, $invoices: Boolean!) {{
  node(id: $id) {{
    ... on Subscription {{
      id status quantity price {{ {PRICE_FIELDS} }} dues {{ formatted }} paymentRetry {{ attempt nextAttemptAt }}
      previousBillingDate nextBillingDate cancelAtNextBillingDate cancelledAt trial {{ endsAt cardDeclined }}
      pauseAtNextBillingDate pausedUntil pauseEndsAt
      product {{ name }}
      paymentMethod {{ {METHOD_FIELDS} }}
      business {{ {BUSINESS_FIELDS} paymentMethods {{ {METHOD_FIELDS} declinedAt }} }}
      discount {{ name remainingCycles discountedPrice {{ {PRICE_FIELDS} }} }}
      scheduledChange {{ product {{ name }} quantity effectiveAt }}
      cancellationOptions {{ allowed }}
      planChangeOptions {{ direction }}
      pauseOptions {{ allowed maxCycles }}
      invoices(first: {INVOICES_SHOWN}) @include(if: $invoices) {{
        totalCount edges {{ node {{ id number issuedAt status total {{ formatted }} pdfUrl summary }} }}
      }}
    }}
  }}
}}
"""
RECEIPT_QUERY = f"""
query Receipt($id: ID!, $invoice: ID!) {{
  subscription: node(id: $id) {{
    ... on Subscription {{
      id status quantity price {{ {PRICE_FIELDS} }} nextBillingDate product {{ name }} business {{ {BUSINESS_FIELDS} }}
    }}
  }}
  invoice: node(id: $invoice) {{
    ... on Invoice {{
      id number total {{ formatted }} tax {{ amount formatted }} taxRate {{ formatted }} taxIncluded
      sellerTaxId customerTaxId
    }}
  }}
}}
"""
_PAYMENT_ANSWER = "subscription { id } payment { id } invoice { id } nextAction { url } errors { code message }"
SUBSCRIBE_AGAIN = """
mutation SubscribeAgain($subscription: ID!, $key: String!) {
  subscribeAgain(input: {subscriptionId: $subscription, idempotencyKey: $key}) { checkoutUrl errors { code message } }
}
"""
REACTIVATE = f"""
mutation Reactivate($subscription: ID!, $method: ID!, $key: String!) {{
  reactivateSubscription(input: {{subscriptionId: $subscription, paymentMethodId: $method, idempotencyKey: $key}}) {{
    {_PAYMENT_ANSWER}
  }}
}}
"""
COMPLETE = f"""
mutation Complete($payment: ID!) {{ completePayment(input: {{paymentId: $payment}}) {{ {_PAYMENT_ANSWER} }} }}
"""
USE_METHOD = """
mutation UseMethod($subscription: ID!, $method: ID!) {
  updateSubscriptionPaymentMethod(input: {subscriptionId: $subscription, paymentMethodId: $method}) {
    subscription { id } errors { code message }
  }
}
"""


@dataclass(frozen=True)
class _View:
    """A page showing one subscription with the business's saved cards to choose from."""

    template: str
    invoices: bool
    # Which card starts selected when the customer has not chosen: the one paying now, or the business's default.
    select_current: bool


SUBSCRIPTION_VIEW = _View("subscription.html", invoices=True, select_current=False)
CHOOSE_VIEW = _View("choose_payment_method.html", invoices=False, select_current=True)


def subscription_path(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id}"


def _methods_in_order(subscription: dict) -> list[dict]:
    """The business's saved cards that can pay (not expired), the one paying this subscription first (then as
    GraphQL lists them)."""
    current = (subscription["paymentMethod"] or {}).get("id")
    payable = [method for method in subscription["business"]["paymentMethods"] if not method["expired"]]
    return sorted(payable, key=lambda method: method["id"] != current)


def _failed_card(subscription: dict, methods: list[dict]) -> str:
    """The card an on-hold subscription's renewal failed on: its own card, else the default that renewals use."""
    if subscription["paymentMethod"]:
        return str(subscription["paymentMethod"]["id"])
    return next((method["id"] for method in methods if method["isDefault"]), "")


def _preselected(methods: list[dict], *wanted: str, avoid: str = "") -> str:
    """The first wanted card that is listed, else the default card, else the first; never the card to avoid (the
    one that just failed), so that a second try does not go to it by default."""
    listed = [method["id"] for method in methods if method["id"] != avoid]
    default = next((method["id"] for method in methods if method["isDefault"] and method["id"] != avoid), "")
    return next((method_id for method_id in wanted if method_id in listed), default or next(iter(listed), ""))


async def _render(
    visit: Visit,
    view: _View,
    subscription_id: str,
    *,
    status: int = 200,
    error: str = "",
    chosen: str = "",
    declined: str = "",
) -> Response:
    """`chosen` is the card the customer picked (kept selected); `declined` the one a payment just failed on."""
    subscription = (await visit.run(SUBSCRIPTION_QUERY, id=subscription_id, invoices=view.invoices))["node"]
    if not subscription:
        return visit.not_found()
    methods = _methods_in_order(subscription)
    current = (subscription["paymentMethod"] or {}).get("id", "") if view.select_current else ""
    on_hold = subscription["dues"] is not None
    avoid = declined or (_failed_card(subscription, methods) if on_hold and not view.select_current else "")
    added = visit.request.query_params.get("added", "")
    return visit.page(
        view.template,
        subscription["business"],
        status=status,
        error=error,
        subscription=subscription,
        methods=methods,
        selected=_preselected(methods, chosen, added, current, avoid=avoid),
        notice=visit.notice(methods),
        # Made once per rendering: submitting this form twice is one charge; a new attempt gets a new page.
        idempotency_key=secrets.token_urlsafe(16),
    )


async def render_subscription(visit: Visit, subscription_id: str, *, status: int = 200, error: str = "") -> Response:
    """The subscription's page; `error` says why the action just tried there was refused."""
    return await _render(visit, SUBSCRIPTION_VIEW, subscription_id, status=status, error=error)


def receipt_path(answer: dict, page: str = "reactivated", **params: str) -> str:
    """The receipt `page` (`reactivated`, `plan-changed`) of a payment payload's subscription and invoice."""
    # The page shows the invoice (the customer schema has no node for a subscription's payment); the payment id
    # stays in the address as the reference support asks for.
    path = f"{subscription_path(answer['subscription']['id'])}/{page}"
    return with_params(path, payment=answer["payment"]["id"], invoice=answer["invoice"]["id"], **params)


@signed_in
async def subscription_page(visit: Visit) -> Response:
    return await render_subscription(visit, visit.request.path_params["subscription_id"])


async def _submit(visit: Visit, form: FormData, operation: str, **variables: str) -> tuple[str, str, dict]:
    """A subscription form's mutation (the subscription in the path, the chosen card in the form): the
    subscription id, the card and the mutation's payload."""
    subscription_id = visit.request.path_params["subscription_id"]
    method = form_field(form, "payment_method_id")
    (answer,) = (await visit.run(operation, subscription=subscription_id, method=method, **variables)).values()
    return subscription_id, method, answer


def _first_error(answer: dict) -> str:
    return answer["errors"][0]["message"] if answer["errors"] else ""


@signed_in_form
async def reactivate(visit: Visit, form: FormData) -> Response:
    subscription_id, method, answer = await _submit(visit, form, REACTIVATE, key=form_field(form, "idempotency_key"))
    if answer["nextAction"]:
        return redirect(answer["nextAction"]["url"])
    if answer["invoice"]:
        # A past-due renewal paid now: the subscription never stopped, so its receipt says the renewal is paid.
        settled = {"settled": "1"} if form_field(form, "past_due") == "1" else {}
        return redirect(receipt_path(answer, **settled))
    error = _first_error(answer)
    return await _render(visit, SUBSCRIPTION_VIEW, subscription_id, status=422, error=error, declined=method)


back_to_subscription = back_to_page(subscription_path, "subscription_id")


@signed_in_form
async def subscribe_again(visit: Visit, form: FormData) -> Response:
    """An ended subscription's "Subscribe again": on to the checkout where the new one is paid for."""
    subscription_id = visit.request.path_params["subscription_id"]
    key = form_field(form, "idempotency_key")
    answer = (await visit.run(SUBSCRIBE_AGAIN, subscription=subscription_id, key=key))["subscribeAgain"]
    if answer["checkoutUrl"]:
        return redirect(answer["checkoutUrl"])
    if answer["errors"][0]["code"] == NOT_FOUND:
        return visit.not_found()
    return await render_subscription(visit, subscription_id, status=422, error=_first_error(answer))


@signed_in
async def complete_payment(visit: Visit) -> Response:
    """Where the processor's 3-D Secure page sends the customer back.

    A GET that changes state, which is acceptable only because it decides nothing: the customer already answered
    their bank on the processor's page, and this merely asks the processor for that answer and records it. Asking
    again (a reload, a prefetch) gets the same answer and never charges again."""
    answer = (await visit.run(COMPLETE, payment=visit.request.path_params["payment_id"]))["completePayment"]
    if answer["subscription"] is None:
        return visit.not_found()
    if answer["invoice"]:
        # Reactivations and plan changes both come back here and the payload does not say which: the receipt
        # then speaks of the payment the bank confirmed, which is true of either.
        receipt = redirect(receipt_path(answer, authenticated="1"))
        # Only a plan change's payment comes back here during a deep link: its task's pages have no other.
        return await visit.finish(PLAN_CHANGE_FLOWS, "plan_changed", receipt)
    code = answer["errors"][0]["code"] if answer["errors"] else ""
    return redirect(with_params(subscription_path(answer["subscription"]["id"]), payment_error=code))


async def receipt_page(visit: Visit, template: str) -> Response:
    """A subscription's receipt (`?invoice=inv_…`) after a payment that left it active."""
    params = visit.request.query_params
    data = await visit.run(
        RECEIPT_QUERY, id=visit.request.path_params["subscription_id"], invoice=params.get("invoice", "")
    )
    subscription, invoice = data["subscription"], data["invoice"]
    if not subscription or not invoice:
        return visit.not_found()
    if subscription["status"] != "ACTIVE":
        # An old confirmation link must not claim a subscription that went on hold again is active.
        return redirect(subscription_path(subscription["id"]))
    return visit.page(
        template,
        subscription["business"],
        subscription=subscription,
        invoice=invoice,
        authenticated=params.get("authenticated") == "1",
        settled=params.get("settled") == "1",
    )


@signed_in
async def reactivated_page(visit: Visit) -> Response:
    return await receipt_page(visit, "reactivated.html")


@signed_in
async def choose_payment_method_page(visit: Visit) -> Response:
    return await _render(visit, CHOOSE_VIEW, visit.request.path_params["subscription_id"])


@signed_in_form
async def use_payment_method(visit: Visit, form: FormData) -> Response:
    subscription_id, method, answer = await _submit(visit, form, USE_METHOD)
    if answer["subscription"]:
        return redirect(with_params(subscription_path(answer["subscription"]["id"]), updated="payment_method"))
    error = _first_error(answer)
    return await _render(visit, CHOOSE_VIEW, subscription_id, status=422, error=error, chosen=method)


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route("/subscriptions/{subscription_id}", subscription_page, settings),
        route("/subscriptions/{subscription_id}/reactivate", reactivate, settings, "POST"),
        route("/subscriptions/{subscription_id}/reactivate", back_to_subscription, settings),
        route("/subscriptions/{subscription_id}/reactivated", reactivated_page, settings),
        route("/subscriptions/{subscription_id}/subscribe-again", subscribe_again, settings, "POST"),
        route("/subscriptions/{subscription_id}/subscribe-again", back_to_subscription, settings),
        route("/subscriptions/{subscription_id}/payment-method", choose_payment_method_page, settings),
        route("/subscriptions/{subscription_id}/payment-method", use_payment_method, settings, "POST"),
        route("/payments/{payment_id}/complete", complete_payment, settings),
    ]
