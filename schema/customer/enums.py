"""The GraphQL enums of the customer schema, one per vocabulary of the data model.

Each is the model's enum itself: `strawberry.enum` registers the class it is given and returns it, so the names here
are plain aliases of the model's enums, which the type checker reads as types."""

import strawberry

from models import enums

Scope = enums.Scope
PriceType = enums.PriceType
Interval = enums.Interval
SubscriptionStatus = enums.SubscriptionStatus
CancellationReason = enums.CancellationFeedback
PaymentStatus = enums.PaymentStatus
InvoiceStatus = enums.InvoiceStatus
LicenseKeyStatus = enums.LicenseKeyStatus

strawberry.enum(Scope, name="Scope", description="UNIFIED: every business of an email; BUSINESS: one.")
strawberry.enum(PriceType, name="PriceType")
strawberry.enum(Interval, name="Interval")
strawberry.enum(SubscriptionStatus, name="SubscriptionStatus")
strawberry.enum(CancellationReason, name="CancellationReason", description="Why a customer cancels.")
strawberry.enum(PaymentStatus, name="PaymentStatus")
strawberry.enum(InvoiceStatus, name="InvoiceStatus")
strawberry.enum(LicenseKeyStatus, name="LicenseKeyStatus")
