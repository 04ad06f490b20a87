"""The merchant GraphQL schema (`POST /merchant/graphql`, API key): composed here from one module per domain, with
the limits and error masking of schema.limits."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema.limits import PortalErrorMasking, PortalLimits, PortalTokenLimit
from schema.merchant.access_tokens import AccessTokenMutations
from schema.merchant.business import BusinessQuery
from schema.merchant.portal_sessions import PortalSessionMutations

schema = strawberry.Schema(
    query=merge_types("Query", (BusinessQuery,)),
    mutation=merge_types("Mutation", (PortalSessionMutations, AccessTokenMutations)),
    extensions=[PortalTokenLimit, ParserCache, PortalLimits, ValidationCache, PortalErrorMasking],
)
