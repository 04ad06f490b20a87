"""The closed vocabularies of the data model, named as the payments APIs merchants know name them."""

from enum import StrEnum


class Scope(StrEnum):
    BUSINESS = "business"
    UNIFIED = "unified"


class PriceType(StrEnum):
    ONE_TIME = "one_time"
    RECURRING = "recurring"
    USAGE_BASED = "usage_based"


class TaxCategory(StrEnum):
    """Dodo's tax categories; the merchant's label for a product (the portal's tax does not depend on it)."""

    DIGITAL_PRODUCTS = "digital_products"
    SAAS = "saas"
    E_BOOK = "e_book"
    EDTECH = "edtech"
    LIVE_TUTORING = "live_tutoring"


class Interval(StrEnum):
    DAY = "Day"
    WEEK = "Week"
    MONTH = "Month"
    YEAR = "Year"


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"


class CancellationFeedback(StrEnum):
    TOO_EXPENSIVE = "too_expensive"
    MISSING_FEATURES = "missing_features"
    SWITCHED_SERVICE = "switched_service"
    UNUSED = "unused"
    CUSTOMER_SERVICE = "customer_service"
    LOW_QUALITY = "low_quality"
    TOO_COMPLEX = "too_complex"
    OTHER = "other"


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"
    CANCELLED = "cancelled"
    REQUIRES_CUSTOMER_ACTION = "requires_customer_action"
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"


class PaymentPurpose(StrEnum):
    PURCHASE = "purchase"
    SUBSCRIPTION_CREATE = "subscription_create"
    RENEWAL = "renewal"
    PLAN_CHANGE = "plan_change"
    REACTIVATION = "reactivation"


class InvoiceStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    VOID = "void"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class LicenseKeyStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    DISABLED = "disabled"


class DiscountType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class DiscountDuration(StrEnum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class LoginTokenKind(StrEnum):
    SIGN_IN = "sign_in"
    MAGIC_LINK = "magic_link"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class CustomDomainStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
