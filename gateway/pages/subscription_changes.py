"""Changing a subscription's course from its page: cancel it (`/subscriptions/{id}/cancel`: the reason, a comment,
now or at the period end, and the business's retention offer once), resume a cancellation that waits for the
period end, change plan or quantity with a preview of the price (`/subscriptions/{id}/change-plan`, then the receipt
at `/plan-changed`), keep the current plan instead of a scheduled change, and pause or unpause. Resuming, pausing and
unpausing (or calling off a pause that has not begun) are confirmed first (gateway.pages.confirmations): a GET of the
action's address shows what will be charged and when, or the dates of the pause, and its form posts the action.

Every read and write is the customer GraphQL schema's (`node`, `cancelSubscription`, `resumeSubscription`,
`acceptRetentionOffer`, `changePlan`, `cancelScheduledChange`, `pauseSubscription`, `unpauseSubscription`): what is
offered and what is refused is billing's, so the pages show the options and the errors the schema answers, and an id
outside the session's scope answers like one that does not exist.

During a deep link (gateway.pages.flows) a cancellation, an accepted retention offer or a plan change completes the
task, and a task that is no longer possible is explained on its page rather than left for the subscription's page.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from access.deep_links import PLAN_CHANGE_FLOWS, FlowType
from billing.errors import UNKNOWN_REASON, BillingError, BillingErrorCode
from core.clock import utcnow
from core.inputs import CANCELLATION_COMMENT
from gateway.pages.common import PRICE_FIELDS
from gateway.pages.confirmations import Confirmation, ConfirmationKind, confirmation_page, confirmed
from gateway.pages.messages import page_message
from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    METHOD_FIELDS,
    Endpoint,
    Visit,
    back_with_query,
    form_field,
    redirect,
    route,
    signed_in,
    signed_in_form,
    with_params,
)
from gateway.pages.subscriptions import (
    back_to_subscription,
    receipt_page,
    receipt_path,
    render_subscription,
    subscription_path,
)
from gateway.settings import Settings

CANCEL_QUERY = f"""
query CancelPage($id: ID!) {{
  node(id: $id) {{
    ... on Subscription {{
      id status nextBillingDate cancelAtNextBillingDate cancelledAt product {{ name }} business {{ {BUSINESS_FIELDS} }}
      cancellationOptions {{ allowed immediately atPeriodEnd reasons retentionOffer {{
        description cycles regularPrice {{ {PRICE_FIELDS} }} discountedPrice {{ {PRICE_FIELDS} }}
      }} }}
    }}
  }}
}}
"""
CANCEL = """
mutation Cancel($id: ID!, $reason: CancellationReason, $comment: String, $immediately: Boolean) {
  cancelSubscription(input: {subscriptionId: $id, reason: $reason, comment: $comment, immediately: $immediately}) {
    subscription { id } errors { message }
  }
}
"""
CHANGE_PLAN_QUERY = f"""
query ChangePlanPage($id: ID!, $product: ID!, $quantity: Int, $preview: Boolean!) {{
  node(id: $id) {{
    ... on Subscription {{
      id status quantity price {{ {PRICE_FIELDS} }} nextBillingDate trialEndsAt product {{ id name }}
      paymentMethod {{ {METHOD_FIELDS} }} business {{ {BUSINESS_FIELDS} }}
      planChangeOptions {{
        product {{ id name description }} price {{ {PRICE_FIELDS} }} monthlyEquivalent {{ formatted }} direction
      }}
      planChangeQuantity {{ minimum maximum }}
      planChangePreview(productId: $product, quantity: $quantity) @include(if: $preview) {{
        immediateCharge {{ amount formatted }} credit {{ amount formatted }} creditApplied {{ amount formatted }}
        tax {{ amount formatted }} newPrice {{ {PRICE_FIELDS} }} effectiveAt direction scheduled trialContinues
        lines {{ description amount {{ formatted }} }}
      }}
    }}
  }}
}}
"""
CHANGE_PLAN = """
mutation ChangePlan($id: ID!, $product: ID!, $quantity: Int, $key: String!) {
  changePlan(input: {subscriptionId: $id, productId: $product, quantity: $quantity, idempotencyKey: $key}) {
    subscription { id scheduledChange { effectiveAt } } payment { id } invoice { id } nextAction { url }
    errors { message }
  }
}
"""
PAUSE = """
mutation Pause($id: ID!, $cycles: Int) {
  pauseSubscription(input: {subscriptionId: $id, cycles: $cycles}) { subscription { id } errors { message } }
}
"""
CONFIRM_QUERY = f"""
query ConfirmPage($id: ID!, $cycles: Int) {{
  node(id: $id) {{
    ... on Subscription {{
      id status price {{ {PRICE_FIELDS} }} nextBillingDate cancelAtNextBillingDate pauseAtNextBillingDate
      product {{ name }} paymentMethod {{ {METHOD_FIELDS} }} business {{ {BUSINESS_FIELDS} }}
      upcomingCharge {{ amount {{ formatted }} at }}
      pauseOptions {{ allowed startsAt resumesAt(cycles: $cycles) }}
    }}
  }}
}}
"""
# The value of the pause form's "Until I resume" (subscription.html): a pause without a number of periods.
UNTIL_RESUMED = "until_resumed"
# Longer numbers would not fit GraphQL's Int; no limit allows them anyway.
_MAX_DIGITS = 9


def _on_subscription(mutation: str) -> str:
    """A mutation whose input is the subscription alone."""
    payload = "subscription { id } errors { message }"
    return f"mutation($id: ID!) {{ {mutation}(input: {{subscriptionId: $id}}) {{ {payload} }} }}"


def _count(value: str) -> int:
    """A whole number typed in a form; anything else is 0, which no limit allows, so the mutation says which
    numbers it takes."""
    return int(value) if value.isdecimal() and len(value) <= _MAX_DIGITS else 0


def _pause_cycles(form: FormData) -> dict:
    cycles = form_field(form, "cycles")
    return {"cycles": None if cycles == UNTIL_RESUMED else _count(cycles)}


def _resume_kind(subscription: dict, variables: dict) -> ConfirmationKind | None:
    return ConfirmationKind.RESUME if subscription["cancelAtNextBillingDate"] else None


def _pause_kind(subscription: dict, variables: dict) -> ConfirmationKind | None:
    options = subscription["pauseOptions"]
    # A number of periods the business does not allow has no end date to show: the mutation says which it takes.
    known_end = variables["cycles"] is None or options["resumesAt"] is not None
    return ConfirmationKind.PAUSE if options["allowed"] and known_end else None


def _unpause_kind(subscription: dict, variables: dict) -> ConfirmationKind | None:
    if subscription["pauseAtNextBillingDate"]:
        return ConfirmationKind.DONT_PAUSE
    return ConfirmationKind.UNPAUSE if subscription["status"] == "PAUSED" else None


@dataclass(frozen=True)
class _Action:
    """A button on the subscription page: the mutation it runs (on the subscription in the path, with what
    `variables` takes from the form) and what the page says afterwards (`?updated=…`). An action that changes what
    is charged has `confirms`: the confirmation that applies to the subscription as it is (and the action's
    variables), None when the action does not apply (then the mutation says why)."""

    mutation: str
    notice: str
    variables: Callable[[FormData], dict] = field(default=lambda form: {})
    # The deep-link tasks the action completes.
    completes: tuple[FlowType, ...] = ()
    confirms: Callable[[dict, dict], ConfirmationKind | None] | None = None
    # What the page says after a confirmation whose outcome is not `notice`'s.
    notices: dict[ConfirmationKind, str] = field(default_factory=dict)


ACTIONS = {
    "resume": _Action(_on_subscription("resumeSubscription"), "resumed", confirms=_resume_kind),
    "retention-offer": _Action(
        _on_subscription("acceptRetentionOffer"), "offer_accepted", completes=(FlowType.SUBSCRIPTION_CANCEL,)
    ),
    "keep-plan": _Action(_on_subscription("cancelScheduledChange"), "plan_kept"),
    "pause": _Action(PAUSE, "pause_scheduled", _pause_cycles, confirms=_pause_kind),
    "unpause": _Action(
        _on_subscription("unpauseSubscription"),
        "unpaused",
        confirms=_unpause_kind,
        notices={ConfirmationKind.DONT_PAUSE: "pause_called_off"},
    ),
}


async def _confirmation(
    visit: Visit, action: _Action, form: FormData
) -> tuple[dict | None, ConfirmationKind | None, Confirmation | None]:
    """The subscription in the path (None when not found), the confirmation `action` needs for it (None when it
    does not apply), and that confirmation unless `form` answers it."""
    variables = action.variables(form)
    subscription_id = visit.request.path_params["subscription_id"]
    subscription = (await visit.run(CONFIRM_QUERY, id=subscription_id, cycles=variables.get("cycles")))["node"]
    kind = action.confirms(subscription, variables) if action.confirms and subscription else None
    if subscription is None or kind is None or confirmed(form, kind):
        return subscription, kind, None
    # The form carries on what the customer chose (the pause's periods), as they typed it.
    fields = {name: form_field(form, name) for name in ("cycles",) if name in variables}
    back = subscription_path(subscription["id"])
    return subscription, kind, Confirmation(kind, subscription, visit.request.url.path, back, fields)


def _confirm_endpoint(action: _Action) -> Endpoint:
    """The GET of a confirmed action's address: its confirmation, or the subscription's page when it does not apply
    (keeping the query: the language links of a refused action's page come here)."""

    @signed_in
    async def confirm(visit: Visit) -> Response:
        form = FormData(visit.request.query_params)
        subscription, kind, confirmation = await _confirmation(visit, action, form)
        if subscription is None:
            return visit.not_found()
        if confirmation is None:
            return back_with_query(visit, subscription_path(subscription["id"]))
        return confirmation_page(visit, subscription["business"], confirmation)

    return confirm


def _action_endpoint(action: _Action) -> Endpoint:
    @signed_in_form
    async def act(visit: Visit, form: FormData) -> Response:
        subscription_id = visit.request.path_params["subscription_id"]
        notice = action.notice
        if action.confirms:
            subscription, kind, confirmation = await _confirmation(visit, action, form)
            if subscription is None:
                return visit.not_found()
            if confirmation is not None:
                # Posted without answering this confirmation: shown it, nothing done.
                return confirmation_page(visit, subscription["business"], confirmation)
            notice = action.notices.get(kind, notice) if kind else notice
        (answer,) = (await visit.run(action.mutation, id=subscription_id, **action.variables(form))).values()
        if answer["errors"]:
            # The page says why; a subscription outside the scope is not found there, like a missing one.
            error = answer["errors"][0]["message"]
            return await render_subscription(visit, subscription_id, status=422, error=error)
        done = redirect(with_params(subscription_path(subscription_id), updated=notice))
        return await visit.finish(action.completes, notice, done)

    return act


# --- cancelling ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelAnswers:
    """What the customer answered on the first step of cancelling; the offer step carries it on in hidden fields."""

    reason: str = ""
    comment: str = ""
    # "now" or "period_end": when the subscription ends.
    when: str = ""

    @classmethod
    def of(cls, form: FormData) -> "CancelAnswers":
        return cls(form_field(form, "reason"), form_field(form, "comment"), form_field(form, "when"))


async def _cancel_subject(visit: Visit) -> dict | None:
    subscription_id = visit.request.path_params["subscription_id"]
    return (await visit.run(CANCEL_QUERY, id=subscription_id))["node"]


def _cancel_step(
    visit: Visit, subscription: dict, step: str, answers: CancelAnswers, *, status: int = 200, error: str = ""
) -> Response:
    """Step `reasons` (the form) or `offer` (the retention offer, before the cancellation goes through)."""
    return visit.page(
        "cancel.html",
        subscription["business"],
        status=status,
        error=error,
        subscription=subscription,
        options=subscription["cancellationOptions"],
        step=step,
        answers=answers,
        comment_limit=CANCELLATION_COMMENT.max_length,
    )


@signed_in
async def cancel_page(visit: Visit) -> Response:
    subscription = await _cancel_subject(visit)
    if subscription is None:
        return visit.not_found()
    if not subscription["cancellationOptions"]["allowed"] and not visit.focused:
        # Its page says why: already ending, or the business wants to be asked.
        return redirect(subscription_path(subscription["id"]))
    return _cancel_step(visit, subscription, "reasons", CancelAnswers())


@signed_in_form
async def cancel(visit: Visit, form: FormData) -> Response:
    subscription = await _cancel_subject(visit)
    if subscription is None:
        return visit.not_found()
    options, answers = subscription["cancellationOptions"], CancelAnswers.of(form)
    if answers.reason and answers.reason not in options["reasons"]:
        # Only the schema's reasons are valid GraphQL; anything else is refused as billing refuses an unoffered one.
        unknown = BillingError(BillingErrorCode.INVALID_INPUT, field="reason", message=UNKNOWN_REASON)
        error = page_message(unknown, visit.locale)
        return _cancel_step(visit, subscription, "reasons", answers, status=422, error=error)
    if options["retentionOffer"] and form_field(form, "offer_seen") != "1":
        return _cancel_step(visit, subscription, "offer", answers)
    variables = {"reason": answers.reason or None, "comment": answers.comment, "immediately": answers.when == "now"}
    answer = (await visit.run(CANCEL, id=subscription["id"], **variables))["cancelSubscription"]
    if answer["errors"]:
        error = answer["errors"][0]["message"]
        return _cancel_step(visit, subscription, "reasons", answers, status=422, error=error)
    cancelled = redirect(f"{subscription_path(subscription['id'])}/cancelled")
    return await visit.finish((FlowType.SUBSCRIPTION_CANCEL,), "cancelled", cancelled)


@signed_in
async def cancelled_page(visit: Visit) -> Response:
    subscription = await _cancel_subject(visit)
    if subscription is None:
        return visit.not_found()
    if subscription["status"] != "CANCELLED" and not subscription["cancelAtNextBillingDate"]:
        # Resumed since: an old confirmation must not say it is ending.
        return redirect(subscription_path(subscription["id"]))
    return visit.page("cancelled.html", subscription["business"], subscription=subscription, today=utcnow())


# --- changing plan ------------------------------------------------------------------------------------------------


async def _change_plan_page(
    visit: Visit, product: str, quantity: int | None, *, status: int = 200, error: str = ""
) -> Response:
    """The plans to choose from and, once one is chosen (`product`, `quantity`), the preview of the change."""
    subscription_id = visit.request.path_params["subscription_id"]
    variables = {"id": subscription_id, "product": product, "quantity": quantity, "preview": bool(product)}
    subscription = (await visit.run(CHANGE_PLAN_QUERY, **variables))["node"]
    if subscription is None:
        return visit.not_found()
    if not subscription["planChangeOptions"] and not error:
        if not visit.focused:
            return redirect(subscription_path(subscription_id))
        error = page_message(BillingError(BillingErrorCode.NOT_ALLOWED), visit.locale)
    preview = subscription.get("planChangePreview")
    current = (subscription["product"] or {}).get("id", ""), subscription["quantity"]
    # The plan and quantity it already has: nothing to preview, and nothing wrong with asking.
    unchanged = (product, current[1] if quantity is None else quantity) == current
    return visit.page(
        "change_plan.html",
        subscription["business"],
        status=422 if product and preview is None and not unchanged else status,
        error=error,
        subscription=subscription,
        chosen=product or current[0],
        quantity=quantity or current[1],
        asked=bool(product),
        unchanged=unchanged,
        preview=preview,
        # Made once per rendering: confirming twice is one change; a new attempt gets a new page.
        idempotency_key=secrets.token_urlsafe(16),
    )


@signed_in
async def change_plan_page(visit: Visit) -> Response:
    params = visit.request.query_params
    quantity = params.get("quantity")
    return await _change_plan_page(visit, params.get("product", ""), None if quantity is None else _count(quantity))


@signed_in_form
async def change_plan(visit: Visit, form: FormData) -> Response:
    subscription_id = visit.request.path_params["subscription_id"]
    product, quantity = form_field(form, "product"), _count(form_field(form, "quantity"))
    key = form_field(form, "idempotency_key")
    answer = (await visit.run(CHANGE_PLAN, id=subscription_id, product=product, quantity=quantity, key=key))[
        "changePlan"
    ]
    if answer["nextAction"]:
        return redirect(answer["nextAction"]["url"])
    if answer["invoice"]:
        return await visit.finish(PLAN_CHANGE_FLOWS, "plan_changed", redirect(receipt_path(answer, "plan-changed")))
    if answer["errors"]:
        return await _change_plan_page(visit, product, quantity, status=422, error=answer["errors"][0]["message"])
    notice = "plan_scheduled" if answer["subscription"]["scheduledChange"] else "plan_changed"
    return await visit.finish(
        PLAN_CHANGE_FLOWS, notice, redirect(with_params(subscription_path(subscription_id), updated=notice))
    )


@signed_in
async def plan_changed_page(visit: Visit) -> Response:
    return await receipt_page(visit, "plan_changed.html")


def routes(settings: Settings) -> list[BaseRoute]:
    base = "/subscriptions/{subscription_id}"
    actions = [
        route(f"{base}/{name}", endpoint, settings, method)
        for name, action in ACTIONS.items()
        # A GET of an action's address: its confirmation, else (and for the language links of a refused action's
        # page) the subscription's page.
        for endpoint, method in (
            (_action_endpoint(action), "POST"),
            (_confirm_endpoint(action) if action.confirms else back_to_subscription, "GET"),
        )
    ]
    return [
        *actions,
        route(f"{base}/cancel", cancel_page, settings),
        route(f"{base}/cancel", cancel, settings, "POST"),
        route(f"{base}/cancelled", cancelled_page, settings),
        route(f"{base}/change-plan", change_plan_page, settings),
        route(f"{base}/change-plan", change_plan, settings, "POST"),
        route(f"{base}/plan-changed", plan_changed_page, settings),
    ]
