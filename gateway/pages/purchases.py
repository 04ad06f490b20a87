"""Purchases (`/purchases`): one-time purchases, newest first, a page at a time, narrowed by business in the
unified portal; each with what was bought, its license keys and its receipt (the invoice PDF, and credit notes)."""

from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.pages.billing_history import PAGE_SIZE, page_cursor, paging
from gateway.pages.signed_in import BUSINESS_FIELDS, Visit, route, signed_in
from gateway.settings import Settings
from models.enums import Scope

PURCHASES_QUERY = f"""
query Purchases($business: ID, $after: String) {{
  viewer {{
    businesses {{ {BUSINESS_FIELDS} }}
    purchases(first: {PAGE_SIZE}, after: $after, businessId: $business, status: [SUCCEEDED]) {{
      totalCount pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{
        id status createdAt total {{ formatted }} cardNetwork cardLastFour business {{ id name }}
        items {{ product {{ name }} quantity amount {{ formatted }} }}
        licenseKeys {{ id key status expiresAt }}
        invoice {{ number status pdfUrl refunds {{ id number amount {{ formatted }} pdfUrl }} }}
      }} }}
    }}
  }}
}}
"""


@signed_in
async def purchases_page(visit: Visit) -> Response:
    business_id, business_known = visit.business_filter()
    after, cursor_known = page_cursor(visit)
    if not (business_known and cursor_known):
        return visit.not_found()
    data = (await visit.run(PURCHASES_QUERY, business=business_id, after=after))["viewer"]
    return visit.across_businesses(
        "purchases.html",
        data["businesses"],
        business_id,
        purchases=data["purchases"],
        chosen_business=business_id or "",
        **paging(after, business=business_id if visit.viewer.scope == Scope.UNIFIED else None),
    )


def routes(settings: Settings) -> list[BaseRoute]:
    return [route("/purchases", purchases_page, settings)]
