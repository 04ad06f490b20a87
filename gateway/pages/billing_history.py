"""Billing history (`/billing-history`): every invoice, newest first, a page at a time, narrowed by business (in the
unified portal) and by status; each invoice with its PDF and the credit notes of its refunds.

`?business=` outside the session's scope and a cursor this server did not hand out answer like a missing page.
"""

from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.pages.signed_in import BUSINESS_FIELDS, Visit, route, signed_in
from gateway.settings import Settings
from models.enums import InvoiceStatus, Scope
from models.paging import Cursor, InvalidCursor

PAGE_SIZE = 20
HISTORY_QUERY = f"""
query BillingHistory($business: ID, $status: [InvoiceStatus!], $after: String) {{
  viewer {{
    businesses {{ {BUSINESS_FIELDS} }}
    invoices(first: {PAGE_SIZE}, after: $after, businessId: $business, status: $status) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{
        id number status issuedAt total {{ formatted }} pdfUrl business {{ id name }} lines {{ description }}
        refunds {{ id number amount {{ formatted }} reason issuedAt pdfUrl }}
      }} }}
    }}
  }}
}}
"""


def page_cursor(visit: Visit) -> tuple[str | None, bool]:
    """The `?after=` cursor of the page asked for, and whether it is one this server could have handed out."""
    after = visit.request.query_params.get("after") or None
    if after is None:
        return None, True
    try:
        Cursor.decode(after)
    except InvalidCursor:
        return after, False
    return after, True


def paging(after: str | None, **filters: str | None) -> dict:
    """What the pager needs: whether this is a later page, and the filters every page link keeps."""
    return {"paged": after is not None, "params": {name: value for name, value in filters.items() if value}}


@signed_in
async def billing_history_page(visit: Visit) -> Response:
    business_id, business_known = visit.business_filter()
    after, cursor_known = page_cursor(visit)
    if not (business_known and cursor_known):
        return visit.not_found()
    status = visit.request.query_params.get("status", "")
    statuses = [InvoiceStatus(status).name] if status in set(InvoiceStatus) else None
    data = (await visit.run(HISTORY_QUERY, business=business_id, status=statuses, after=after))["viewer"]
    return visit.across_businesses(
        "billing_history.html",
        data["businesses"],
        business_id,
        invoices=data["invoices"],
        chosen_business=business_id or "",
        chosen_status=status if statuses else "",
        statuses=[status.value for status in InvoiceStatus],
        filtered=bool(statuses) or (business_id is not None and visit.viewer.scope == Scope.UNIFIED),
        **paging(
            after,
            business=business_id if visit.viewer.scope == Scope.UNIFIED else None,
            status=status if statuses else None,
        ),
    )


def routes(settings: Settings) -> list[BaseRoute]:
    return [route("/billing-history", billing_history_page, settings)]
