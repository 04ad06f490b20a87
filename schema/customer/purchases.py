"""Payments as the customer sees them, and purchases: payments for one-time products, with what was bought and the
license keys that came with it."""

from datetime import datetime
from typing import Self

import strawberry

from models import Payment as PaymentRow
from models import PaymentItem as PaymentItemRow
from schema.customer.actions import translate
from schema.customer.context import CustomerContext
from schema.customer.enums import PaymentStatus
from schema.customer.invoices import Invoice
from schema.customer.license_keys import LicenseKey
from schema.customer.lookahead import Selection, build_grouped, load_related
from schema.customer.money import Money
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness
from schema.customer.products import Product


@strawberry.type
class PurchaseItem:
    product: Product
    quantity: int
    amount: Money

    @classmethod
    def from_row(cls, row: PaymentItemRow, currency: str, locale: str) -> Self:
        return cls(
            product=Product.from_row(row.product), quantity=row.quantity, amount=Money.of(row.amount, currency, locale)
        )


@strawberry.type(description="One charge of a saved payment method.")
class Payment(Node, OwnedByBusiness):
    status: PaymentStatus
    total: Money
    tax: Money
    card_last_four: str
    card_network: str
    error_code: str | None = strawberry.field(description="The processor's decline code, e.g. card_declined.")
    created_at: datetime
    stored_error_message: strawberry.Private[str | None]

    @strawberry.field(description="Why the payment failed, in the reader's language.")
    def error_message(self, info: strawberry.Info) -> str | None:
        return translate(info, self.stored_error_message) if self.stored_error_message else None

    @classmethod
    def from_row(cls, row: PaymentRow, locale: str, **related: object) -> Self:
        """The payment; `related` are a subclass's own fields (a purchase's items)."""
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            status=row.status,
            total=Money.of(row.total_amount, row.currency, locale),
            tax=Money.of(row.tax, row.currency, locale),
            card_last_four=row.card_last_four,
            card_network=row.card_network,
            error_code=row.error_code,
            created_at=row.created_at,
            stored_error_message=row.error_message,
            **related,
        )


@strawberry.type(description="A payment for one-time products, with what was bought and its license keys.")
class Purchase(Payment):
    items: list[PurchaseItem]
    license_keys: list[LicenseKey]
    invoice: Invoice | None = strawberry.field(
        description="The receipt: the invoice issued when the payment succeeded; null before."
    )

    @classmethod
    async def build(cls, context: CustomerContext, rows: list[PaymentRow], selection: Selection) -> list[Self]:
        """Purchases with the items, license keys and receipt the selection shows, loaded for all at once; the keys
        and the receipt with what they show in turn."""
        loaders, ids = context.loaders, [row.id for row in rows]
        items, keys, invoices = await load_related(
            (loaders.purchase_items, ids, "items" in selection),
            (loaders.purchase_license_keys, ids, "licenseKeys" in selection),
            (loaders.payment_invoices, ids, "invoice" in selection),
        )
        keys = await build_grouped(lambda flat: LicenseKey.build(context, flat, selection["licenseKeys"]), keys)
        receipts = await build_grouped(
            lambda flat: Invoice.build(context, flat, selection["invoice"]), [(found or [])[:1] for found in invoices]
        )
        locale = context.locale
        return [
            cls.from_row(
                row,
                locale,
                items=[PurchaseItem.from_row(item, row.currency, locale) for item in row_items or ()],
                license_keys=row_keys,
                invoice=receipt[0] if receipt else None,
            )
            for row, row_items, row_keys, receipt in zip(rows, items, keys, receipts, strict=True)
        ]
