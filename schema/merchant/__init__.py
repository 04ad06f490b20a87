"""The merchant GraphQL schema (`POST /merchant/graphql`, API key): composed here from one module per domain, with
the limits and error masking of schema.limits."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema.limits import PortalErrorMasking, PortalLimits, PortalTokenLimit
from schema.merchant.business import BusinessQuery
from schema.merchant.customers import CustomerMutations, CustomerQuery
from schema.merchant.portal_sessions import PortalSessionMutations
from schema.merchant.subscriptions import SubscriptionMutations, SubscriptionQuery

schema = strawberry.Schema(
    query=merge_types("Query", (BusinessQuery, CustomerQuery, SubscriptionQuery)),
    mutation=merge_types("Mutation", (PortalSessionMutations, CustomerMutations, SubscriptionMutations)),
    extensions=[PortalTokenLimit, ParserCache, PortalLimits, ValidationCache, PortalErrorMasking],
)
