"""A customer's paid invoice, issued as a charge issues it, in a business of its own, for the document tests."""

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from billing.invoices import Line, billing_details, issue_invoice
from billing.tax import charge_amounts
from models import Business, Customer, Invoice, Payment
from models.enums import PaymentPurpose, PaymentStatus

ISSUED = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


async def issued_invoice(
    name: str = "Northwind Tools",
    prefix: str = "NW",
    email: str = "ada@example.com",
    customer_name: str = "Ada",
    locale: str = "",
) -> tuple[Customer, Invoice, Payment]:
    """A customer's paid invoice, issued the way a charge issues it (which owes its PDF in the customer's `locale`)."""
    business = await Business.create(
        name=name,
        support_email=f"help@{prefix.lower()}.example",
        invoice_prefix=prefix,
        tax_rate_bp=2500,
        address_line1="500 Market Street",
        address_city="San Francisco",
        address_state="CA",
        address_postal_code="94105",
        address_country="US",
    )
    customer = await Customer.create(
        business=business,
        livemode=True,
        email=email,
        email_verified=True,
        name=customer_name,
        billing_line1="Drottninggatan 1",
        billing_city="Stockholm",
        billing_postal_code="111 51",
        billing_country="SE",
        locale=locale,
    )
    amounts = charge_amounts(4900, rate_bp=2500, inclusive=False)
    payment = await Payment.create(
        business=business,
        livemode=True,
        customer=customer,
        total_amount=amounts.total,
        tax=amounts.tax,
        subtotal=amounts.subtotal,
        currency="USD",
        status=PaymentStatus.SUCCEEDED,
        purpose=PaymentPurpose.PURCHASE,
        card_network="visa",
        card_last_four="4242",
        idempotency_key=f"{prefix}-{email}",
    )
    async with in_transaction() as connection:
        invoice = await issue_invoice(
            connection,
            payment=payment,
            customer=customer,
            business=business,
            lines=[Line("Nocturne, desktop licence", 1, 4900)],
            amounts=amounts,
            now=ISSUED,
        )
    assert invoice.billing_details == billing_details(customer, business)
    return customer, invoice, payment
