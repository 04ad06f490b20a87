"""Billing history (`/billing-history`): every invoice, failed payment and amount owed now, newest first, a page at a
time both ways (Previous, Next, "21–40 of 48"), narrowed by business (in the unified portal) and by status (an
invoice's, Failed or Open); each invoice with its PDF and the credit notes of its refunds, each failed payment with
why, and what can be paid with the button that leads to where it is paid ("Pay now", or "Try again" for a first
payment that failed).

`?business=` outside the session's scope and a cursor this server did not hand out answer like a missing page.
"""

from starlette.responses import Response
from starlette.routing import BaseRoute

from billing.history import BillingHistoryStatus
from gateway.pages.signed_in import BUSINESS_FIELDS, Visit, route, signed_in
from gateway.settings import Settings
from models.enums import Scope
from models.paging import Cursor, InvalidCursor

PAGE_SIZE = 20
_SUBSCRIPTION = "id status product { name }"
HISTORY_QUERY = f"""
query BillingHistory($business: ID, $status: [BillingHistoryStatus!], $first: Int, $after: String, $last: Int,
                     $before: String) {{
  viewer {{
    businesses {{ {BUSINESS_FIELDS} }}
    billingHistory(
      first: $first, after: $after, last: $last, before: $before, businessId: $business, status: $status
    ) {{
      totalCount offset pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ node {{
        id status date amount {{ formatted }} business {{ id name }}
        invoice {{
          number pdfUrl summary
          refunds {{ id number amount {{ formatted }} reason issuedAt pdfUrl }}
        }}
        payment {{ errorMessage }}
        subscription {{ {_SUBSCRIPTION} }}
      }} }}
    }}
    subscriptionsNeedingAction(businessId: $business) {{ id }}
  }}
}}
"""


def page_cursor(visit: Visit, parameter: str = "after") -> tuple[str | None, bool]:
    """The cursor of the page asked for (`?after=`, or another parameter), and whether it is one this server could
    have handed out."""
    cursor = visit.request.query_params.get(parameter) or None
    if cursor is None:
        return None, True
    try:
        Cursor.decode(cursor)
    except InvalidCursor:
        return cursor, False
    return cursor, True


def paging(after: str | None, **filters: str | None) -> dict:
    """What the pager needs: whether this is a later page, and the filters every page link keeps."""
    return {"paged": after is not None, "params": {name: value for name, value in filters.items() if value}}


def _statuses(visit: Visit) -> list[str] | None:
    """The status asked for, as the schema names it; None for every status (or one this page does not offer)."""
    status = visit.request.query_params.get("status", "")
    return [BillingHistoryStatus(status).name] if status in set(BillingHistoryStatus) else None


@signed_in
async def billing_history_page(visit: Visit) -> Response:
    business_id, business_known = visit.business_filter()
    after, after_known = page_cursor(visit)
    before, before_known = page_cursor(visit, "before")
    if not (business_known and after_known and before_known) or (after and before):
        return visit.not_found()
    statuses = _statuses(visit)
    # Back from a later page with `before`: the page just newer than it, of the same size.
    size = {"last": PAGE_SIZE, "before": before} if before else {"first": PAGE_SIZE, "after": after}
    data = (await visit.run(HISTORY_QUERY, business=business_id, status=statuses, **size))["viewer"]
    chosen_status = visit.request.query_params.get("status", "") if statuses else ""
    unified = visit.viewer.scope == Scope.UNIFIED
    return visit.across_businesses(
        "billing_history.html",
        data["businesses"],
        business_id,
        history=data["billingHistory"],
        # A failed first payment is tried again only while nothing has replaced it (billing.attention).
        retryable={subscription["id"] for subscription in data["subscriptionsNeedingAction"]},
        chosen_business=business_id or "",
        chosen_status=chosen_status,
        statuses=[status.value for status in BillingHistoryStatus],
        filtered=bool(statuses) or (business_id is not None and unified),
        params={
            name: value
            for name, value in {"business": business_id if unified else None, "status": chosen_status}.items()
            if value
        },
    )


def routes(settings: Settings) -> list[BaseRoute]:
    return [route("/billing-history", billing_history_page, settings)]
