"""The details billing.notifications queues for each billing email (a receipt, a failed payment, a subscription on
hold, one reactivated, a cancellation confirmed, a plan changed), for the tests that render those emails."""

from billing.errors import decline_message

DETAILS: dict[str, dict] = {
    "payment_receipt": {
        "amount": 980,
        "currency": "JPY",
        "invoice_number": "SF-0042",
        "product_name": "Pro plan",
        "card_brand": "visa",
        "card_last4": "4242",
        "paid_at": "2031-03-05T12:00:00+00:00",
    },
    "payment_failed": {
        "amount": 980,
        "currency": "JPY",
        "product_name": "Pro plan",
        "card_brand": "mastercard",
        "card_last4": "4444",
        "reason": decline_message("insufficient_funds"),
    },
    "subscription_on_hold": {"product_name": "Pro plan", "amount": 980, "currency": "JPY"},
    "subscription_reactivated": {
        "product_name": "Pro plan",
        "next_billing_date": "2031-04-05T12:00:00+00:00",
        "amount": 980,
        "currency": "JPY",
        "invoice_number": "SF-0042",
        "card_brand": "visa",
        "card_last4": "4242",
        "paid_at": "2031-03-05T12:00:00+00:00",
    },
    "cancellation_confirmed": {"product_name": "Pro plan", "ends_at": "2031-04-05T12:00:00+00:00", "ended": False},
    "plan_changed": {
        "product_name": "Studio plan",
        "quantity": 3,
        "recurring_amount": 2940,
        "currency": "JPY",
        "price": {
            "amount": {"amount": 2940, "currency": "JPY"},
            "intervalCount": 1,
            "interval": "MONTH",
            "tax": "ADDED",
        },
        "price_with_tax": 3234,
        "next_billing_date": "2031-04-05T12:00:00+00:00",
        "amount": 1960,
        "invoice_number": "SF-0043",
        "card_brand": "visa",
        "card_last4": "4242",
    },
}
