"""The merchant GraphQL schema (`POST /merchant/graphql`, API key): composed here from one module per domain, with
the limits and error masking of schema.common.limits."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema.common.limits import PortalErrorMasking, PortalLimits, PortalTokenLimit
from schema.common.plain_fields import PlainFieldExecutionContext
from schema.merchant.access_tokens import AccessTokenMutations, AccessTokenQuery
from schema.merchant.business import BusinessMutations, BusinessQuery
from schema.merchant.catalog import CatalogMutations, CatalogQuery
from schema.merchant.custom_domains import CustomDomainMutations
from schema.merchant.customers import CustomerMutations, CustomerQuery
from schema.merchant.license_keys import LicenseKeyMutations, LicenseKeyQuery
from schema.merchant.payments import PaymentQuery
from schema.merchant.portal_configurations import PortalConfigurationMutations, PortalConfigurationQuery
from schema.merchant.portal_sessions import PortalSessionMutations
from schema.merchant.refunds import RefundMutations, RefundQuery
from schema.merchant.stripe_account import StripeAccountMutations, StripeAccountQuery
from schema.merchant.subscriptions import SubscriptionMutations, SubscriptionQuery
from schema.merchant.webhooks import WebhookMutations, WebhookQuery

QUERIES = (
    BusinessQuery,
    CustomerQuery,
    SubscriptionQuery,
    CatalogQuery,
    PortalConfigurationQuery,
    PaymentQuery,
    RefundQuery,
    LicenseKeyQuery,
    WebhookQuery,
    AccessTokenQuery,
    StripeAccountQuery,
)
MUTATIONS = (
    PortalSessionMutations,
    CustomerMutations,
    SubscriptionMutations,
    BusinessMutations,
    CatalogMutations,
    PortalConfigurationMutations,
    RefundMutations,
    LicenseKeyMutations,
    WebhookMutations,
    CustomDomainMutations,
    AccessTokenMutations,
    StripeAccountMutations,
)

schema = strawberry.Schema(
    query=merge_types("Query", QUERIES),
    mutation=merge_types("Mutation", MUTATIONS),
    extensions=[PortalTokenLimit, ParserCache, PortalLimits, ValidationCache, PortalErrorMasking],
    execution_context_class=PlainFieldExecutionContext,
)
