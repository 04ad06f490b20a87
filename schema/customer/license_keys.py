"""License keys of what the customer bought, and the devices each is activated on."""

from datetime import datetime

import strawberry

from models import LicenseKey as LicenseKeyRow
from schema.customer.enums import LicenseKeyStatus
from schema.customer.node import Node
from schema.customer.owned import OwnedByBusiness
from schema.customer.products import Product, product_of


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
    product_id: strawberry.Private[str]

    @strawberry.field
    async def product(self, info: strawberry.Info) -> Product | None:
        return await product_of(info, self.product_id)

    @strawberry.field
    async def instances(self, info: strawberry.Info) -> list[LicenseKeyInstance]:
        rows = await info.context.loaders.license_key_instances.load(str(self.id))
        return [LicenseKeyInstance(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at) for row in rows]

    @strawberry.field
    async def instances_count(self, info: strawberry.Info) -> int:
        return len(await info.context.loaders.license_key_instances.load(str(self.id)))

    @classmethod
    def from_row(cls, row: LicenseKeyRow) -> "LicenseKey":
        return cls(
            id=strawberry.ID(row.id),
            business_id=row.business_id,
            key=row.key,
            status=row.status,
            activations_limit=row.activations_limit,
            expires_at=row.expires_at,
            created_at=row.created_at,
            product_id=row.product_id,
        )
