"""The GraphQL enums of the customer schema, one per vocabulary of the data model."""

import strawberry

from models import enums

Scope = strawberry.enum(enums.Scope, name="Scope", description="UNIFIED: every business of an email; BUSINESS: one.")
PriceType = strawberry.enum(enums.PriceType, name="PriceType")
Interval = strawberry.enum(enums.Interval, name="Interval")
SubscriptionStatus = strawberry.enum(enums.SubscriptionStatus, name="SubscriptionStatus")
CancellationReason = strawberry.enum(
    enums.CancellationFeedback,
    name="CancellationReason",
    description="Why a customer cancels.",
)
PaymentStatus = strawberry.enum(enums.PaymentStatus, name="PaymentStatus")
InvoiceStatus = strawberry.enum(enums.InvoiceStatus, name="InvoiceStatus")
LicenseKeyStatus = strawberry.enum(enums.LicenseKeyStatus, name="LicenseKeyStatus")
