"""Tortoise models of the portal (app label `portal`): tables, prefixed ids, invariants. Imports nothing of ours
above this package."""

from models.access import (
    ApiKey,
    EmailChangeToken,
    EmailCode,
    EmailCodeBudget,
    LoginToken,
    PortalSession,
    RateLimitBucket,
)
from models.billing import (
    CreditEntry,
    CreditNoteSequence,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    PaymentItem,
    PaymentMethod,
    Refund,
    Subscription,
)
from models.business import Business, CustomDomain, PortalConfiguration
from models.catalog import Discount, Product, ProductCollection
from models.checkout import CheckoutSession
from models.customer import Customer, normalize_email
from models.documents import StoredDocument
from models.license import LicenseKey, LicenseKeyInstance
from models.outbox import EmailMessage, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.sandbox import SandboxCard, SandboxCharge, SandboxSetup
from models.stripe import StripeAccount, StripeCustomer, StripeEvent, StripeIntent
from models.workers import WorkerHeartbeat

__all__ = [
    "ApiKey",
    "Business",
    "CheckoutSession",
    "CreditEntry",
    "CreditNoteSequence",
    "Customer",
    "CustomDomain",
    "Discount",
    "EmailChangeToken",
    "EmailCode",
    "EmailCodeBudget",
    "EmailMessage",
    "Event",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "LicenseKey",
    "LicenseKeyInstance",
    "LoginToken",
    "Payment",
    "PaymentItem",
    "PaymentMethod",
    "PortalConfiguration",
    "PortalSession",
    "Product",
    "ProductCollection",
    "RateLimitBucket",
    "Refund",
    "SandboxCard",
    "SandboxCharge",
    "SandboxSetup",
    "StoredDocument",
    "StripeAccount",
    "StripeCustomer",
    "StripeEvent",
    "StripeIntent",
    "Subscription",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerHeartbeat",
    "normalize_email",
]
