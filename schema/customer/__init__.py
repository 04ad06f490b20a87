"""The customer GraphQL schema (`POST /graphql`), composed from one module per domain.

Everything it shows comes through the request's Viewer; the pages of the hosted portal run it in-process.
"""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema.common.limits import PortalErrorMasking, PortalLimits, PortalTokenLimit
from schema.common.plain_fields import PlainFieldExecutionContext
from schema.customer.business_additions import BusinessAdditionMutations
from schema.customer.context import CustomerContext, build_context
from schema.customer.license_key_mutations import LicenseKeyMutations
from schema.customer.payment_method_mutations import PaymentMethodMutations
from schema.customer.payments import PaymentMutations
from schema.customer.profile_mutations import ProfileMutations
from schema.customer.subscription_mutations import SubscriptionMutations
from schema.customer.viewer import Query

schema = strawberry.Schema(
    query=Query,
    mutation=merge_types(
        "Mutation",
        (
            BusinessAdditionMutations,
            LicenseKeyMutations,
            PaymentMethodMutations,
            PaymentMutations,
            ProfileMutations,
            SubscriptionMutations,
        ),
    ),
    extensions=[PortalTokenLimit, ParserCache, PortalLimits, ValidationCache, PortalErrorMasking],
    execution_context_class=PlainFieldExecutionContext,
)

__all__ = ["CustomerContext", "build_context", "schema"]
