""" "Download my data": everything a portal session may see about its customer, as one JSON document.

Every row comes through the Viewer (profiles, subscriptions, invoices, purchases, license keys, payment methods), and
the rows that hang off them (invoice lines, purchase items, license key instances) are looked up by the ids those
rows carry, so the export holds exactly the session's scope: one business's record in BUSINESS scope, every record
of the email in UNIFIED scope, in the session's mode. Each kind names the fields it shows, so nothing internal
(processor tokens, card fingerprints, idempotency keys, processor references) can slip in when a model grows.
Money is in the currency's minor unit beside its ISO 4217 code, times are ISO 8601 in UTC. A fixed number of
statements, whatever the amount of data.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from access.viewer import Viewer
from core.clock import utcnow
from models import (
    Customer,
    Invoice,
    InvoiceLine,
    LicenseKey,
    LicenseKeyInstance,
    Payment,
    PaymentItem,
    PaymentMethod,
    Product,
    Subscription,
)

FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _product(product: Product) -> dict:
    return {"id": product.id, "name": product.name}


def _by(rows: Iterable, key: str) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _profile(customer: Customer) -> dict:
    return {
        "id": customer.id,
        "business": {"id": customer.business.id, "name": customer.business.name},
        "email": customer.email,
        "emailVerified": customer.email_verified,
        "name": customer.name,
        "phoneNumber": customer.phone_number,
        "billingAddress": {
            "line1": customer.billing_line1,
            "line2": customer.billing_line2,
            "city": customer.billing_city,
            "state": customer.billing_state,
            "postalCode": customer.billing_postal_code,
            "country": customer.billing_country,
        },
        "taxId": customer.tax_id,
        "locale": customer.locale,
        "createdAt": _time(customer.created_at),
    }


def _subscription(row: Subscription) -> dict:
    return {
        "id": row.id,
        "businessId": row.business_id,
        "product": _product(row.product),
        "status": row.status.value,
        "quantity": row.quantity,
        "amount": row.recurring_pre_tax_amount,
        "currency": row.currency,
        "taxInclusive": row.tax_inclusive,
        "paymentFrequency": {"count": row.payment_frequency_count, "interval": row.payment_frequency_interval.value},
        "trialEndsAt": _time(row.trial_ends_at),
        "previousBillingDate": _time(row.previous_billing_date),
        "nextBillingDate": _time(row.next_billing_date),
        "cancelAtNextBillingDate": row.cancel_at_next_billing_date,
        "cancelledAt": _time(row.cancelled_at),
        "cancellationFeedback": row.cancellation_feedback.value if row.cancellation_feedback else None,
        "cancellationComment": row.cancellation_comment,
        "pauseAtNextBillingDate": row.pause_at_next_billing_date,
        "pausedUntil": _time(row.paused_until),
        "expiresAt": _time(row.expires_at),
        "paymentMethodId": row.payment_method_id,
        "createdAt": _time(row.created_at),
    }


def _invoice(row: Invoice, lines: list[InvoiceLine]) -> dict:
    return {
        "id": row.id,
        "businessId": row.business_id,
        "number": row.number,
        "status": row.status.value,
        "currency": row.currency,
        "subtotal": row.subtotal,
        "discount": row.discount,
        "tax": row.tax,
        # Basis points; null on invoices issued before the rate was kept.
        "taxRateBp": row.tax_rate_bp,
        "creditApplied": row.credit_applied,
        "total": row.total,
        "issuedAt": _time(row.issued_at),
        "subscriptionId": row.subscription_id,
        # The buyer's and seller's details as they were when the invoice was issued.
        "billingDetails": row.billing_details,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unitAmount": line.unit_amount,
                "amount": line.amount,
            }
            for line in sorted(lines, key=lambda line: line.position)
        ],
    }


def _purchase(row: Payment, items: list[PaymentItem]) -> dict:
    return {
        "id": row.id,
        "businessId": row.business_id,
        "status": row.status.value,
        "currency": row.currency,
        "subtotal": row.subtotal,
        "discount": row.discount,
        "tax": row.tax,
        "creditApplied": row.credit_applied,
        "total": row.total_amount,
        "cardNetwork": row.card_network,
        "cardLastFour": row.card_last_four,
        "errorCode": row.error_code,
        "createdAt": _time(row.created_at),
        "items": [
            {"product": _product(item.product), "quantity": item.quantity, "amount": item.amount} for item in items
        ],
    }


def _license_key(row: LicenseKey, instances: list[LicenseKeyInstance]) -> dict:
    return {
        "id": row.id,
        "businessId": row.business_id,
        "product": _product(row.product),
        "key": row.key,
        "status": row.status.value,
        "activationsLimit": row.activations_limit,
        "expiresAt": _time(row.expires_at),
        "subscriptionId": row.subscription_id,
        "purchaseId": row.payment_id,
        "createdAt": _time(row.created_at),
        "instances": [
            {"id": instance.id, "name": instance.name, "createdAt": _time(instance.created_at)}
            for instance in instances
        ],
    }


def _payment_method(row: PaymentMethod) -> dict:
    """The public details only: what the card shows, never the processor's token or the card's fingerprint."""
    return {
        "id": row.id,
        "businessId": row.business_id,
        "type": row.type,
        "brand": row.brand,
        "last4": row.last4,
        "expMonth": row.exp_month,
        "expYear": row.exp_year,
        "isDefault": row.is_default,
        "createdAt": _time(row.created_at),
        "removedAt": _time(row.detached_at),
    }


async def export_data(viewer: Viewer, now: datetime | None = None) -> dict:
    """The session's data, oldest first within each kind."""
    oldest_first = ("created_at", "id")
    subscriptions = await viewer.subscriptions().select_related("product").order_by(*oldest_first)
    invoices = await viewer.invoices().order_by(*oldest_first)
    purchases = await viewer.purchases().order_by(*oldest_first)
    license_keys = await viewer.license_keys().select_related("product").order_by(*oldest_first)
    methods = await viewer.payment_methods(include_detached=True).order_by(*oldest_first)
    lines = _by(await InvoiceLine.filter(invoice_id__in=[row.id for row in invoices]), "invoice_id")
    items = _by(
        await PaymentItem.filter(payment_id__in=[row.id for row in purchases]).select_related("product").order_by("id"),
        "payment_id",
    )
    instances = _by(
        await LicenseKeyInstance.filter(license_key_id__in=[row.id for row in license_keys]).order_by(*oldest_first),
        "license_key_id",
    )
    return {
        "formatVersion": FORMAT_VERSION,
        "exportedAt": _time(now or utcnow()),
        "email": viewer.email,
        "scope": viewer.scope.value,
        "livemode": viewer.livemode,
        "profiles": [_profile(customer) for customer in viewer.customers],
        "subscriptions": [_subscription(row) for row in subscriptions],
        "invoices": [_invoice(row, lines[row.id]) for row in invoices],
        "purchases": [_purchase(row, items[row.id]) for row in purchases],
        "licenseKeys": [_license_key(row, instances[row.id]) for row in license_keys],
        "paymentMethods": [_payment_method(row) for row in methods],
    }
