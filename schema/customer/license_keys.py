"""License keys of what the customer bought, and the devices each is activated on."""

from datetime import datetime
from typing import Self

import strawberry

from models import LicenseKey as LicenseKeyRow
from models import LicenseKeyInstance as LicenseKeyInstanceRow
from models import Product as ProductRow
from schema.customer.context import CustomerContext
from schema.customer.enums import LicenseKeyStatus
from schema.customer.lookahead import Selection, load_related
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness
from schema.customer.products import Product


@strawberry.type
class LicenseKeyInstance:
    id: strawberry.ID
    name: str
    created_at: datetime


@strawberry.type
class LicenseKey(Node, OwnedByBusiness):
    key: str
    status: LicenseKeyStatus
    activations_limit: int | None = strawberry.field(description="Null when unlimited.")
    expires_at: datetime | None
    created_at: datetime
    product: Product | None
    instances: list[LicenseKeyInstance]
    instances_count: int

    @classmethod
    async def build(cls, context: CustomerContext, rows: list[LicenseKeyRow], selection: Selection) -> list[Self]:
        """License keys with the product and devices the selection shows, loaded for all of them at once."""
        loaders, ids = context.loaders, [row.id for row in rows]
        products, instances = await load_related(
            (loaders.products, [row.product_id for row in rows], "product" in selection),
            # The count is of the same rows as the list, so asking either loads them.
            (loaders.license_key_instances, ids, "instances" in selection or "instancesCount" in selection),
        )
        return [cls.from_row(*loaded) for loaded in zip(rows, products, instances, strict=True)]

    @classmethod
    def from_row(
        cls, row: LicenseKeyRow, product: ProductRow | None, instances: list[LicenseKeyInstanceRow] | None
    ) -> Self:
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            key=row.key,
            status=row.status,
            activations_limit=row.activations_limit,
            expires_at=row.expires_at,
            created_at=row.created_at,
            product=Product.from_row(product) if product else None,
            instances=[
                LicenseKeyInstance(id=strawberry.ID(instance.id), name=instance.name, created_at=instance.created_at)
                for instance in instances or ()
            ],
            instances_count=len(instances or ()),
        )
