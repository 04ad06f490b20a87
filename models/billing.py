"""What happens to a customer's money: payment methods, subscriptions, payments, invoices, refunds."""

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import Timestamped, currency_field, id_field
from models.enums import (
    CancellationFeedback,
    Interval,
    InvoiceStatus,
    PaymentPurpose,
    PaymentStatus,
    RefundStatus,
    SubscriptionStatus,
)

if TYPE_CHECKING:
    from models.business import Business
    from models.catalog import Discount, Product
    from models.customer import Customer


class PaymentMethod(Timestamped):
    """A saved way to pay. Only what the processor returns is kept: never a card number."""

    id = id_field("pm")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="payment_methods"
    )
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="payment_methods"
    )
    customer_id: str
    type = fields.CharField(max_length=20, default="card")
    brand = fields.CharField(max_length=20, default="")
    last4 = fields.CharField(max_length=4, default="")
    exp_month = fields.IntField(null=True)
    exp_year = fields.IntField(null=True)
    fingerprint = fields.CharField(max_length=64, default="")
    processor_token = fields.CharField(max_length=128, default="")
    is_default = fields.BooleanField(default=False)
    detached_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payment_method"
        indexes = (("customer_id", "created_at"),)


class Subscription(Timestamped):
    id = id_field("sub")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="subscriptions"
    )
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="subscriptions"
    )
    customer_id: str
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField(
        "portal.Product", related_name="subscriptions"
    )
    product_id: str
    status = fields.CharEnumField(SubscriptionStatus, max_length=16)
    quantity = fields.IntField(default=1)
    recurring_pre_tax_amount = fields.BigIntField()
    currency = currency_field()
    tax_inclusive = fields.BooleanField(default=False)
    payment_frequency_count = fields.IntField(default=1)
    payment_frequency_interval = fields.CharEnumField(Interval, max_length=8, default=Interval.MONTH)
    subscription_period_count = fields.IntField(default=1)
    subscription_period_interval = fields.CharEnumField(Interval, max_length=8, default=Interval.YEAR)
    trial_period_days = fields.IntField(default=0)
    trial_ends_at = fields.DatetimeField(null=True)
    previous_billing_date = fields.DatetimeField()
    next_billing_date = fields.DatetimeField()
    cancel_at_next_billing_date = fields.BooleanField(default=False)
    cancelled_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    cancellation_feedback = fields.CharEnumField(CancellationFeedback, max_length=24, null=True)
    cancellation_comment = fields.TextField(null=True)
    payment_method: fields.ForeignKeyNullableRelation["PaymentMethod"] = fields.ForeignKeyField(
        "portal.PaymentMethod", related_name="subscriptions", null=True, on_delete=fields.SET_NULL
    )
    payment_method_id: str | None
    discount: fields.ForeignKeyNullableRelation["Discount"] = fields.ForeignKeyField(
        "portal.Discount", related_name="subscriptions", null=True, on_delete=fields.SET_NULL
    )
    discount_id: str | None
    # The renewals the discount still applies to; null while it applies forever (or there is none).
    discount_cycles_remaining = fields.IntField(null=True)
    # When the retention offer was accepted or passed over: it is offered once per subscription.
    retention_offer_at = fields.DatetimeField(null=True)
    # `{product_id, quantity, effective_at}`: a plan change waiting for the period end.
    scheduled_change: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # A change that moves money holds this claim (billing.subscription_claims), so two never run at once.
    change_claimed_until = fields.DatetimeField(null=True)
    # The idempotency key of the last plan change that charged nothing, so that its retry answers it again.
    last_change_key = fields.CharField(max_length=128, null=True)
    pause_at_next_billing_date = fields.BooleanField(default=False)
    # How many cycles a pause lasts; null while it lasts until the customer unpauses.
    pause_cycles = fields.IntField(null=True)
    paused_until = fields.DatetimeField(null=True)
    # Dunning (billing.dunning): the failed charges of the renewal due at next_billing_date, and when it is charged
    # again; 0 and null while no renewal has failed.
    renewal_attempts = fields.IntField(default=0, db_default=0)
    next_retry_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # What the merchant attached when creating it through the API, returned as it came (Dodo's `metadata`).
    metadata: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # `{business}:{mode}:{client key}` of the API call that created it, so a retried create finds this row.
    idempotency_key = fields.CharField(max_length=300, null=True, unique=True)
    # A hash of everything that API call asked (the way to pay included), so a retry must ask the same.
    request_fingerprint = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "subscription"
        indexes = (("customer_id", "status"), ("customer_id", "created_at"))


class Payment(Timestamped):
    """One charge attempt. The idempotency key makes a retried charge the same charge."""

    id = id_field("pay")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="payments")
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField("portal.Customer", related_name="payments")
    customer_id: str
    subscription: fields.ForeignKeyNullableRelation["Subscription"] = fields.ForeignKeyField(
        "portal.Subscription", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    subscription_id: str | None
    total_amount = fields.BigIntField()
    tax = fields.BigIntField(default=0)
    # What the total is made of, for the invoice: the lines, less the discount, plus tax, less the credit applied.
    subtotal = fields.BigIntField(default=0)
    discount = fields.BigIntField(default=0)
    credit_applied = fields.BigIntField(default=0)
    currency = currency_field()
    status = fields.CharEnumField(PaymentStatus, max_length=32)
    purpose = fields.CharEnumField(PaymentPurpose, max_length=24)
    payment_method: fields.ForeignKeyNullableRelation["PaymentMethod"] = fields.ForeignKeyField(
        "portal.PaymentMethod", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    payment_method_id: str | None
    card_last_four = fields.CharField(max_length=4, default="")
    card_network = fields.CharField(max_length=20, default="")
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.CharField(max_length=500, null=True)
    idempotency_key = fields.CharField(max_length=128, unique=True)
    # SHA-256 of what was asked (subscription, method, amount, purpose): the same key with another request is refused.
    request_fingerprint = fields.CharField(max_length=64, default="")
    processor_reference = fields.CharField(max_length=128, default="")
    # What the charge is for, when settling it later needs more than the subscription (a plan change's target).
    details: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    # Where the customer authenticates a charge that needs it (3-D Secure); empty otherwise.
    next_action_url = fields.CharField(max_length=1000, default="")
    # When the cardholder disputed the charge with their bank (a processor's dispute event), if they did.
    disputed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "payment"
        # The last one serves the merchant lists: a business's payments in one mode, newest first by (created_at, id).
        indexes = (
            ("customer_id", "created_at"),
            ("customer_id", "purpose"),
            ("business_id", "livemode", "created_at", "id"),
        )


class PaymentItem(Timestamped):
    """A product bought in a payment."""

    id = id_field("pit")
    payment: fields.ForeignKeyRelation["Payment"] = fields.ForeignKeyField(
        "portal.Payment", related_name="items", db_index=True
    )
    payment_id: str
    product: fields.ForeignKeyRelation["Product"] = fields.ForeignKeyField(
        "portal.Product", related_name="payment_items"
    )
    product_id: str
    quantity = fields.IntField(default=1)
    amount = fields.BigIntField()

    class Meta:
        table = "payment_item"


class InvoiceSequence(Timestamped):
    """The next invoice number of a business in a mode, taken under a row lock so numbers have no gaps."""

    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="invoice_sequences"
    )
    business_id: str
    livemode = fields.BooleanField()
    next_number = fields.BigIntField(default=1)

    class Meta:
        table = "invoice_sequence"
        unique_together = (("business", "livemode"),)


class Invoice(Timestamped):
    """Issued once per successful payment. `billing_details` is the snapshot at issue and never changes."""

    id = id_field("inv")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="invoices")
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField("portal.Customer", related_name="invoices")
    customer_id: str
    payment: fields.OneToOneNullableRelation["Payment"] = fields.OneToOneField(
        "portal.Payment", related_name="invoice", null=True
    )
    payment_id: str | None
    subscription: fields.ForeignKeyNullableRelation["Subscription"] = fields.ForeignKeyField(
        "portal.Subscription", related_name="invoices", null=True, on_delete=fields.SET_NULL
    )
    subscription_id: str | None
    number = fields.CharField(max_length=40)
    status = fields.CharEnumField(InvoiceStatus, max_length=24)
    currency = currency_field()
    subtotal = fields.BigIntField()
    discount = fields.BigIntField(default=0)
    tax = fields.BigIntField(default=0)
    # The business's tax rate when the invoice was issued, in basis points; null on invoices issued before it was
    # kept, which show their tax without a rate.
    tax_rate_bp = fields.IntField(null=True)
    credit_applied = fields.BigIntField(default=0)
    total = fields.BigIntField()
    issued_at = fields.DatetimeField()
    # What the invoice is for, when its lines alone do not say it (a plan change: billing.line_wording.Summary);
    # null otherwise, and on older invoices.
    summary: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    billing_details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "invoice"
        unique_together = (("business", "livemode", "number"),)
        indexes = (("customer_id", "created_at"),)


class InvoiceLine(Timestamped):
    id = id_field("inl")
    invoice: fields.ForeignKeyRelation["Invoice"] = fields.ForeignKeyField(
        "portal.Invoice", related_name="lines", db_index=True
    )
    invoice_id: str
    position = fields.IntField(default=0)
    description = fields.CharField(max_length=300)
    # What the line is made of, so it can be said in each reader's language (billing.line_wording); null for a
    # line that is only its description.
    wording: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    quantity = fields.IntField(default=1)
    unit_amount = fields.BigIntField()
    amount = fields.BigIntField()

    class Meta:
        table = "invoice_line"


class CreditNoteSequence(Timestamped):
    """The next credit-note number of a business in a mode: a sequence of its own, apart from the invoices'."""

    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="credit_note_sequences"
    )
    business_id: str
    livemode = fields.BooleanField()
    next_number = fields.BigIntField(default=1)

    class Meta:
        table = "credit_note_sequence"
        unique_together = (("business", "livemode"),)


class Refund(Timestamped):
    """Money given back on a payment. A succeeded refund carries a credit note: its own gap-free number, the invoice
    it corrects and the invoice's billing snapshot."""

    id = id_field("ref")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField("portal.Business", related_name="refunds")
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField("portal.Customer", related_name="refunds")
    customer_id: str
    payment: fields.ForeignKeyRelation["Payment"] = fields.ForeignKeyField("portal.Payment", related_name="refunds")
    payment_id: str
    amount = fields.BigIntField()
    currency = currency_field()
    status = fields.CharEnumField(RefundStatus, max_length=16)
    reason = fields.CharField(max_length=300, default="")
    invoice: fields.ForeignKeyNullableRelation["Invoice"] = fields.ForeignKeyField(
        "portal.Invoice", related_name="refunds", null=True, on_delete=fields.SET_NULL
    )
    invoice_id: str | None
    credit_note_number = fields.CharField(max_length=40, null=True)
    issued_at = fields.DatetimeField(null=True)
    # `{business}:{mode}:{client key}` of the API call that asked for it: a retried refund finds this row.
    idempotency_key = fields.CharField(max_length=300, null=True, unique=True)

    class Meta:
        table = "refund"
        unique_together = (("business", "livemode", "credit_note_number"),)
        # The second finds a page of payments' refunds, newest first, for the merchant lists.
        indexes = (("customer_id", "created_at"), ("payment_id", "created_at"))


class CreditEntry(Timestamped):
    """One movement of a customer's credit balance at a business, in one currency: positive when credit is granted
    (a downgrade, an immediate cancellation's unused time), negative when a charge uses it. The balance is the sum."""

    id = id_field("crd")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="credit_entries"
    )
    business_id: str
    livemode = fields.BooleanField()
    customer: fields.ForeignKeyRelation["Customer"] = fields.ForeignKeyField(
        "portal.Customer", related_name="credit_entries"
    )
    customer_id: str
    currency = currency_field()
    amount = fields.BigIntField()
    reason = fields.CharField(max_length=32)
    subscription: fields.ForeignKeyNullableRelation["Subscription"] = fields.ForeignKeyField(
        "portal.Subscription", related_name="credit_entries", null=True, on_delete=fields.SET_NULL
    )
    subscription_id: str | None
    payment: fields.ForeignKeyNullableRelation["Payment"] = fields.ForeignKeyField(
        "portal.Payment", related_name="credit_entries", null=True, on_delete=fields.SET_NULL
    )
    payment_id: str | None

    class Meta:
        table = "credit_entry"
        indexes = (("customer_id", "currency"),)
