"""A business's saved cards (`/payment-methods?business=bus_…`): make one the default or remove it (a POST to the
page itself; removing is confirmed first on `/payment-methods/remove?business=…&payment_method_id=pm_…`, see
gateway.pages.confirmations), and add one through the processor's hosted page (`POST /payment-methods/new`, which
comes back to `/payment-methods/added` and then to the page the customer started from, with `?added=pm_…`). A card
saved completes a deep link's `payment_method_update` task (gateway.pages.flows).

In BUSINESS scope the page is about the session's business; in the unified portal about the `business` asked for,
and without one it lists the cards of every business, each group leading to its business's page.
Every read and write is the customer GraphQL schema's, so a business or card outside the session's scope answers
like one that does not exist.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from access.deep_links import FlowType
from gateway.http.csrf import csrf_token, csrf_value_valid
from gateway.pages.common import graphql_brand, portal_brand, refused_form_page
from gateway.pages.confirmations import Confirmation, ConfirmationKind, confirmation_page, confirmed
from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    METHOD_FIELDS,
    NOT_FOUND,
    Visit,
    form_field,
    redirect,
    route,
    same_site_path,
    signed_in,
    signed_in_form,
    with_params,
)
from gateway.payments import billing_of
from gateway.settings import Settings
from models.enums import Scope

PAYMENT_METHODS_QUERY = f"""
query PaymentMethods($business: ID!) {{
  viewer {{ businesses {{ {BUSINESS_FIELDS} }} paymentMethods(businessId: $business) {{ {METHOD_FIELDS} declinedAt }} }}
}}
"""
EVERY_PAYMENT_METHOD_QUERY = f"""
query EveryPaymentMethod {{
  viewer {{ businesses {{ {BUSINESS_FIELDS} }} paymentMethods {{ {METHOD_FIELDS} declinedAt business {{ id }} }} }}
}}
"""
SET_DEFAULT = """
mutation MakeDefault($method: ID!) {
  setDefaultPaymentMethod(input: {paymentMethodId: $method}) { errors { code message } }
}
"""
REMOVE = """
mutation Remove($method: ID!) {
  removePaymentMethod(input: {paymentMethodId: $method}) { errors { code message } }
}
"""
START_SETUP = """
mutation StartSetup($business: ID!, $url: String!) {
  startPaymentMethodSetup(input: {businessId: $business, returnUrl: $url}) { url errors { code message } }
}
"""
ADD = """
mutation Add($business: ID!, $token: String!, $default: Boolean!) {
  addPaymentMethod(input: {businessId: $business, processorToken: $token, setAsDefault: $default}) {
    paymentMethod { id } errors { code message }
  }
}
"""
ADDED_PATH = "/payment-methods/added"


REMOVE_PATH = "/payment-methods/remove"


@dataclass(frozen=True)
class _Change:
    """A button on a saved card: the mutation it runs, what the page says afterwards (`?updated=…`) and the
    confirmation it needs first, if any."""

    mutation: str
    payload: str
    updated: str
    confirmation: ConfirmationKind | None = None


CHANGES = {
    "default": _Change(SET_DEFAULT, "setDefaultPaymentMethod", updated="default"),
    "remove": _Change(REMOVE, "removePaymentMethod", updated="removed", confirmation=ConfirmationKind.REMOVE_CARD),
}


def payment_methods_path(business_id: str) -> str:
    return f"/payment-methods?{urlencode({'business': business_id})}"


def _business_id(visit: Visit, asked: str | None) -> str:
    """The business a request is about: the one asked for, else (BUSINESS scope) the session's."""
    session = visit.viewer.session
    return asked or (session.business_id if visit.viewer.scope == Scope.BUSINESS else "") or ""


async def _business_and_methods(visit: Visit, business_id: str) -> tuple[dict | None, list[dict]]:
    """The business (None outside the scope) and the cards saved there."""
    data = (await visit.run(PAYMENT_METHODS_QUERY, business=business_id))["viewer"]
    business = next((business for business in data["businesses"] if business["id"] == business_id), None)
    return business, data["paymentMethods"]


async def _render(visit: Visit, business_id: str, *, status: int = 200, error: str = "") -> Response:
    business, methods = await _business_and_methods(visit, business_id)
    if business is None:
        return visit.not_found()
    return visit.page(
        "payment_methods.html",
        business,
        status=status,
        error=error,
        methods=methods,
        notice=visit.notice(methods),
        page_path=payment_methods_path(business_id),
        remove_path=REMOVE_PATH,
    )


def _failed(visit: Visit, error: dict, return_to: str) -> Response:
    """A business outside the scope is not found; any other failure goes back where the customer started, saying
    why (`?payment_error=CODE`)."""
    if error["code"] == NOT_FOUND:
        return visit.not_found()
    return redirect(with_params(return_to, payment_error=error["code"]))


async def _every_business(visit: Visit) -> Response:
    """The unified portal's cards of every business, grouped by business (by name), each with its own page."""
    data = (await visit.run(EVERY_PAYMENT_METHOD_QUERY))["viewer"]
    groups = [
        {
            "business": business,
            "brand": graphql_brand(business),
            "methods": [method for method in data["paymentMethods"] if method["business"]["id"] == business["id"]],
        }
        for business in sorted(data["businesses"], key=lambda business: business["name"].casefold())
    ]
    return visit.across_businesses("payment_methods_overview.html", data["businesses"], None, groups=groups)


@signed_in
async def payment_methods_page(visit: Visit) -> Response:
    business_id = _business_id(visit, visit.request.query_params.get("business"))
    if not business_id:  # the unified portal, no business asked for
        return await _every_business(visit)
    return await _render(visit, business_id)


async def _confirm_removal(visit: Visit, business_id: str, method_id: str) -> Response:
    """The confirmation of removing a card saved at the business; a card not listed there (another customer's, one
    already removed) is not found, like a missing one."""
    business, methods = await _business_and_methods(visit, business_id)
    method = next((method for method in methods if method["id"] == method_id), None)
    if business is None or method is None:
        return visit.not_found()
    page_path = payment_methods_path(business_id)
    fields = {"change": "remove", "payment_method_id": method_id}
    confirmation = Confirmation(ConfirmationKind.REMOVE_CARD, method, page_path, page_path, fields)
    return confirmation_page(visit, business, confirmation)


@signed_in
async def remove_confirmation(visit: Visit) -> Response:
    params = visit.request.query_params
    business_id = _business_id(visit, params.get("business"))
    return await _confirm_removal(visit, business_id, params.get("payment_method_id", ""))


@signed_in_form
async def change_payment_method(visit: Visit, form: FormData) -> Response:
    """A card's button (`change=default|remove`), posted to the page itself so that a refusal is shown there; a
    removal not confirmed yet shows its confirmation."""
    change = CHANGES.get(form_field(form, "change"))
    if change is None:
        return visit.not_found()
    if change.confirmation and not confirmed(form, change.confirmation):
        business_id = _business_id(visit, visit.request.query_params.get("business"))
        return await _confirm_removal(visit, business_id, form_field(form, "payment_method_id"))
    answer = (await visit.run(change.mutation, method=form_field(form, "payment_method_id")))[change.payload]
    errors = answer["errors"]
    if errors and errors[0]["code"] == NOT_FOUND:
        return visit.not_found()
    business_id = _business_id(visit, visit.request.query_params.get("business"))
    if errors:
        return await _render(visit, business_id, status=422, error=errors[0]["message"])
    return redirect(with_params(payment_methods_path(business_id), updated=change.updated))


@signed_in_form
async def start_adding_card(visit: Visit, form: FormData) -> Response:
    """Send the customer to the processor's hosted page, which sends them back to `card_added`."""
    business_id = _business_id(visit, form_field(form, "business"))
    return_to = same_site_path(form_field(form, "return_to"), payment_methods_path(business_id))
    default = "1" if form_field(form, "make_default") else "0"
    state = csrf_token(visit.request, visit.settings)
    back = urlencode({"business": business_id, "return_to": return_to, "default": default, "state": state})
    url = billing_of(visit.request).portal_url(f"{ADDED_PATH}?{back}")
    answer = (await visit.run(START_SETUP, business=business_id, url=url))["startPaymentMethodSetup"]
    return redirect(answer["url"]) if answer["url"] else _failed(visit, answer["errors"][0], return_to)


@signed_in
async def card_added(visit: Visit) -> Response:
    """Where the hosted page sends the customer back with `processor_token=…` (or `setup_error=cancelled`).

    Saving a card on a GET is safe here for two reasons. The `state` is this visitor's CSRF token, put in the return
    URL when they started: a forged link cannot carry it, so it cannot save anything on this customer's account (not
    even the published test tokens such as `pm_card_chargeDeclined`, which attach to anyone). And the processor
    binds a hosted page's token to the customer whose setup made it, so no one else's card can be attached here."""
    params = visit.request.query_params
    business_id = _business_id(visit, params.get("business"))
    return_to = same_site_path(params.get("return_to"), payment_methods_path(business_id))
    if params.get("setup_error"):
        return redirect(return_to)
    if not csrf_value_valid(visit.request, params.get("state"), visit.settings):
        return refused_form_page(visit.request, visit.settings, portal_brand(visit.settings), visit.viewer.livemode)
    token, default = params.get("processor_token", ""), params.get("default") == "1"
    answer = (await visit.run(ADD, business=business_id, token=token, default=default))["addPaymentMethod"]
    if answer["paymentMethod"] is None:
        return _failed(visit, answer["errors"][0], return_to)
    added = redirect(with_params(return_to, added=answer["paymentMethod"]["id"]))
    return await visit.finish((FlowType.PAYMENT_METHOD_UPDATE,), "card_added", added)


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route("/payment-methods", payment_methods_page, settings),
        route("/payment-methods", change_payment_method, settings, "POST"),
        route(REMOVE_PATH, remove_confirmation, settings),
        route("/payment-methods/new", start_adding_card, settings, "POST"),
        route(ADDED_PATH, card_added, settings),
    ]
