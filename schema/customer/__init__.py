"""The customer GraphQL schema (`POST /graphql`), composed from one module per domain.

Everything it shows comes through the request's Viewer; the pages of the hosted portal run it in-process.
"""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from schema.customer.context import CustomerContext, build_context
from schema.customer.viewer import Query
from schema.limits import PortalErrorMasking, PortalLimits, PortalTokenLimit

schema = strawberry.Schema(
    query=Query,
    extensions=[PortalTokenLimit, ParserCache, PortalLimits, ValidationCache, PortalErrorMasking],
)

__all__ = ["CustomerContext", "build_context", "schema"]
