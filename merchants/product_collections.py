"""Product collections: the ordered plans a subscriber may move between (billing.plan_changes offers them low to
high in `Product.collection_position` order).

A collection holds recurring products of its own business and mode, all in one currency, and a product belongs to
at most one collection: moving it is explicit (take it out of the other one first). Renaming, reordering, adding
and removing happen in one transaction, and each product joins with a conditional UPDATE, so two concurrent
requests cannot put one product in two collections.
"""

from collections.abc import Sequence

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.clock import utcnow
from merchants import inputs
from merchants.inputs import MerchantErrorCode, MerchantInputError
from merchants.products import products_of
from models import Product, ProductCollection
from models.enums import PriceType
from models.ids import find_by_client_id, id_prefix, is_well_formed_id

MAX_PRODUCTS = 50
NAME_LIMIT = 200
_FIELD = "product_ids"


def collections_of(business_id: str, livemode: bool) -> QuerySet[ProductCollection]:
    return ProductCollection.filter(business_id=business_id, livemode=livemode)


async def find_collection(business_id: str, livemode: bool, collection_id: object) -> ProductCollection | None:
    return await find_by_client_id(collections_of(business_id, livemode), collection_id)


async def collection_products(collection: ProductCollection) -> list[Product]:
    """Its products in upgrade order, lowest first."""
    return await Product.filter(collection_id=collection.id).order_by("collection_position", "id")


def _in_another_collection(product_id: str) -> MerchantInputError:
    message = f"product {product_id} is in another collection; remove it from that one first"
    return MerchantInputError(message, _FIELD, code=MerchantErrorCode.PRODUCT_IN_ANOTHER_COLLECTION)


async def _plans(collection: ProductCollection, product_ids: Sequence[str]) -> list[Product]:
    """The products `product_ids` names, in that order, once each rule of a collection holds."""
    if len(product_ids) > MAX_PRODUCTS:
        raise MerchantInputError(f"a collection holds at most {MAX_PRODUCTS} products", _FIELD)
    if len(set(product_ids)) != len(product_ids):
        raise MerchantInputError("product ids must not repeat a product", _FIELD)
    prefix = id_prefix(Product)
    wanted = [product_id for product_id in product_ids if is_well_formed_id(product_id, prefix)]
    scope = products_of(collection.business_id, collection.livemode)
    found = {product.id: product for product in await scope.filter(id__in=wanted)}
    plans = []
    for product_id in product_ids:
        product = found.get(product_id)
        if product is None:
            raise MerchantInputError(f"no product has the id {product_id}", _FIELD, code=MerchantErrorCode.NOT_FOUND)
        if product.price_type != PriceType.RECURRING:
            raise MerchantInputError(f"product {product_id} is not recurring; a collection holds plans", _FIELD)
        if product.collection_id not in (None, collection.id):
            raise _in_another_collection(product_id)
        plans.append(product)
    if len({plan.currency for plan in plans}) > 1:
        raise MerchantInputError("the products of a collection must share one currency", _FIELD)
    return plans


async def _place(collection: ProductCollection, plans: list[Product]) -> None:
    """Make `plans` the collection's products in this order; call inside the transaction of the change."""
    now = utcnow()  # a product's collection is part of it (Dodo's `product_collection_id`): it was updated
    await (
        Product.filter(collection_id=collection.id)
        .exclude(id__in=[plan.id for plan in plans])
        .update(collection_id=None, collection_position=0, updated_at=now)
    )
    for position, plan in enumerate(plans):
        joined = (
            await Product.filter(id=plan.id)
            .filter(Q(collection_id__isnull=True) | Q(collection_id=collection.id))
            .update(collection_id=collection.id, collection_position=position, updated_at=now)
        )
        if not joined:
            raise _in_another_collection(plan.id)


async def create_collection(
    business_id: str, livemode: bool, name: str | None, product_ids: Sequence[str]
) -> ProductCollection:
    collection = ProductCollection(
        business_id=business_id, livemode=livemode, name=inputs.text("name", name, NAME_LIMIT, required=True)
    )
    plans = await _plans(collection, product_ids)
    async with in_transaction():
        await collection.save()
        await _place(collection, plans)
    return collection


async def update_collection(
    collection: ProductCollection, name: str | None = None, product_ids: Sequence[str] | None = None
) -> ProductCollection:
    """Rename and/or replace the ordered products (those left out leave the collection) in one transaction."""
    new_name = None if name is None else inputs.text("name", name, NAME_LIMIT, required=True)
    plans = None if product_ids is None else await _plans(collection, product_ids)
    async with in_transaction():
        if new_name is not None:
            collection.name = new_name
            await collection.save(update_fields=["name", "updated_at"])
        if plans is not None:
            await _place(collection, plans)
    return collection
