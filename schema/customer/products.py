"""Products as a customer sees them on what they bought."""

import strawberry

from models import Product as ProductRow
from schema.customer.enums import PriceType


@strawberry.type
class Product:
    id: strawberry.ID
    name: str
    description: str
    price_type: PriceType

    @classmethod
    def from_row(cls, row: ProductRow) -> "Product":
        return cls(id=strawberry.ID(row.id), name=row.name, description=row.description, price_type=row.price_type)


async def product_of(info: strawberry.Info, product_id: str) -> Product | None:
    [row] = await info.context.loaders.products.load((product_id,))
    return Product.from_row(row) if row else None
