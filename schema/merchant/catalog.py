"""The merchant schema's catalog: products, product collections and discounts of the API key's business and mode,
thin over merchants.products, merchants.product_collections and merchants.discounts."""

from datetime import datetime

import strawberry

from merchants.discounts import create_discount, delete_discount, discounts_of, find_discount, update_discount
from merchants.product_collections import (
    collection_products,
    collections_of,
    create_collection,
    find_collection,
    update_collection,
)
from merchants.products import create_product, find_product, products_of, set_archived, update_product
from models import Discount as DiscountRow
from models import Product as ProductRow
from models import ProductCollection as ProductCollectionRow
from models import enums
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError
from schema.customer.enums import Interval, PriceType
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import attempt, changes, given, not_found

# The model's enums themselves, registered: plain aliases, so the type checker reads them as types.
DiscountType = enums.DiscountType
DiscountDuration = enums.DiscountDuration
strawberry.enum(DiscountType, name="DiscountType")
strawberry.enum(DiscountDuration, name="DiscountDuration")
Info = strawberry.Info[MerchantContext, None]
PRODUCT_NOT_FOUND = not_found("product", field="productId")


@strawberry.type(name="Product", description="Something the business sells, with its price and billing cycle.")
class MerchantProduct:
    id: strawberry.ID
    name: str
    description: str
    price_type: PriceType
    price: int = strawberry.field(
        description="Minor units per cycle or purchase. A change does not touch existing subscriptions: they keep "
        "the amount they were sold at."
    )
    currency: str = strawberry.field(description="ISO 4217 code, upper case.")
    tax_inclusive: bool
    payment_frequency_count: int | None = strawberry.field(description="RECURRING only: billed every N intervals.")
    payment_frequency_interval: Interval | None
    subscription_period_count: int | None = strawberry.field(description="RECURRING only: the subscription's term.")
    subscription_period_interval: Interval | None
    trial_period_days: int
    license_key_enabled: bool
    license_key_activations_limit: int | None = strawberry.field(description="Null: unlimited activations.")
    license_key_duration_count: int | None = strawberry.field(description="Null: keys never expire.")
    license_key_duration_interval: Interval | None
    collection_id: strawberry.ID | None
    archived: bool = strawberry.field(description="Archived products are not offered in new plan changes.")
    created_at: datetime

    @classmethod
    def of(cls, row: ProductRow) -> "MerchantProduct":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            price_type=row.price_type,
            price=row.price,
            currency=row.currency,
            tax_inclusive=row.tax_inclusive,
            payment_frequency_count=row.payment_frequency_count,
            payment_frequency_interval=row.payment_frequency_interval,
            subscription_period_count=row.subscription_period_count,
            subscription_period_interval=row.subscription_period_interval,
            trial_period_days=row.trial_period_days,
            license_key_enabled=row.license_key_enabled,
            license_key_activations_limit=row.license_key_activations_limit,
            license_key_duration_count=row.license_key_duration_count,
            license_key_duration_interval=row.license_key_duration_interval,
            collection_id=strawberry.ID(row.collection_id) if row.collection_id else None,
            archived=row.archived,
            created_at=row.created_at,
        )


@strawberry.type(name="ProductCollection", description="Plans a subscriber may move between, low to high.")
class MerchantProductCollection:
    id: strawberry.ID
    name: str
    created_at: datetime
    products: list[MerchantProduct] = strawberry.field(description="In upgrade order: the lowest plan first.")

    @classmethod
    def of(cls, row: ProductCollectionRow, products: list[ProductRow]) -> "MerchantProductCollection":
        plans = [MerchantProduct.of(product) for product in products]
        return cls(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at, products=plans)


@strawberry.type(name="Discount", description="A coupon, such as the retention offer of a portal configuration.")
class MerchantDiscount:
    id: strawberry.ID
    code: str
    name: str
    type: DiscountType
    amount: int = strawberry.field(description="PERCENTAGE: basis points (1250 is 12.5 %); FIXED: minor units.")
    currency: str | None = strawberry.field(description="FIXED only.")
    duration: DiscountDuration
    duration_cycles: int | None = strawberry.field(description="REPEATING only: how many renewals it applies to.")
    created_at: datetime

    @classmethod
    def of(cls, row: DiscountRow) -> "MerchantDiscount":
        return cls(
            id=strawberry.ID(row.id),
            code=row.code,
            name=row.name,
            type=row.type,
            amount=row.amount,
            currency=row.currency,
            duration=row.duration,
            duration_cycles=row.duration_cycles,
            created_at=row.created_at,
        )


@strawberry.input(description="The fields to change; those left out keep their value.")
class ProductChangesInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    price_type: PriceType | None = strawberry.field(
        default=strawberry.UNSET, description="Fixed once the product exists."
    )
    price: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Minor units, 0 or more. Existing subscriptions keep the amount they were sold at.",
    )
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 4217 code.")
    tax_inclusive: bool | None = strawberry.UNSET
    payment_frequency_count: int | None = strawberry.field(default=strawberry.UNSET, description="RECURRING only.")
    payment_frequency_interval: Interval | None = strawberry.UNSET
    subscription_period_count: int | None = strawberry.field(default=strawberry.UNSET, description="RECURRING only.")
    subscription_period_interval: Interval | None = strawberry.UNSET
    trial_period_days: int | None = strawberry.field(default=strawberry.UNSET, description="0 to 730, RECURRING only.")
    license_key_enabled: bool | None = strawberry.UNSET
    license_key_activations_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="1 or more; null for unlimited."
    )
    license_key_duration_count: int | None = strawberry.field(
        default=strawberry.UNSET, description="With the interval; both null for keys that never expire."
    )
    license_key_duration_interval: Interval | None = strawberry.UNSET


@strawberry.input(description="A new product; RECURRING prices also need their payment frequency and period.")
class CreateProductInput(ProductChangesInput):
    name: str
    price_type: PriceType
    price: int
    currency: str


@strawberry.input(description="The product to change and the fields to change; those left out keep their value.")
class UpdateProductInput(ProductChangesInput):
    product_id: strawberry.ID


@strawberry.input
class ProductInput:
    product_id: strawberry.ID


@strawberry.input(description="Recurring plans in upgrade order, the lowest first.")
class CreateProductCollectionInput:
    name: str
    product_ids: list[strawberry.ID]


@strawberry.input(description="The fields to change; those left out keep their value. productIds replaces the list.")
class UpdateProductCollectionInput:
    product_collection_id: strawberry.ID
    name: str | None = None
    product_ids: list[strawberry.ID] | None = None


@strawberry.input(description="The fields to change; those left out keep their value.")
class DiscountChangesInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET, description="Unique in the business and mode: A–Z, 0–9, - and _; upper-cased."
    )
    name: str | None = strawberry.UNSET
    type: DiscountType | None = strawberry.UNSET
    amount: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="PERCENTAGE: basis points, 1 to 10000 (12.5 % is 1250, not 12.5); FIXED: minor units above 0.",
    )
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="FIXED only: ISO 4217 code.")
    duration: DiscountDuration | None = strawberry.UNSET
    duration_cycles: int | None = strawberry.field(default=strawberry.UNSET, description="REPEATING only: 1 or more.")


@strawberry.input(description="A new discount.")
class CreateDiscountInput(DiscountChangesInput):
    code: str
    type: DiscountType
    amount: int
    duration: DiscountDuration


@strawberry.input(description="The discount to change and the fields to change; those left out keep their value.")
class UpdateDiscountInput(DiscountChangesInput):
    discount_id: strawberry.ID


@strawberry.input(description="The discount to delete.")
class DeleteDiscountInput:
    discount_id: strawberry.ID


@strawberry.type
class DeleteDiscountPayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


@strawberry.type
class ProductPayload:
    product: MerchantProduct | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


@strawberry.type
class ProductCollectionPayload:
    product_collection: MerchantProductCollection | None = strawberry.field(
        description="Null when errors is not empty."
    )
    errors: list[UserError]


@strawberry.type
class DiscountPayload:
    discount: MerchantDiscount | None = strawberry.field(description="Null when errors is not empty.")
    errors: list[UserError]


def _product_payload(row: ProductRow | None, errors: list[UserError]) -> ProductPayload:
    return ProductPayload(product=MerchantProduct.of(row) if row else None, errors=errors)


async def _collection_payload(row: ProductCollectionRow | None, errors: list[UserError]) -> ProductCollectionPayload:
    node = MerchantProductCollection.of(row, await collection_products(row)) if row else None
    return ProductCollectionPayload(product_collection=node, errors=errors)


def _discount_payload(row: DiscountRow | None, errors: list[UserError]) -> DiscountPayload:
    return DiscountPayload(discount=MerchantDiscount.of(row) if row else None, errors=errors)


async def _with_products(connection: Connection) -> Connection:
    """Fill in the products of a page of collections with one query."""
    nodes = [edge.node for edge in connection.edges]
    rows = await ProductRow.filter(collection_id__in=[node.id for node in nodes]).order_by("collection_position", "id")
    for node in nodes:
        node.products = [MerchantProduct.of(row) for row in rows if row.collection_id == node.id]
    return connection


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The business's products, newest first; `archived` filters, null lists both.")
    async def products(
        self, info: Info, first: int | None = None, after: str | None = None, archived: bool | None = None
    ) -> Connection[MerchantProduct]:
        query = products_of(info.context.business_id, info.context.livemode)
        if archived is not None:
            query = query.filter(archived=archived)
        return await query_connection(query, MerchantProduct.of, first=first, after=after)

    @strawberry.field(description="One product; null for an id outside the API key's business and mode.")
    async def product(self, info: Info, id: strawberry.ID) -> MerchantProduct | None:
        row = await find_product(info.context.business_id, info.context.livemode, id)
        return MerchantProduct.of(row) if row else None

    @strawberry.field(description="The business's product collections, newest first.")
    async def product_collections(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MerchantProductCollection]:
        query = collections_of(info.context.business_id, info.context.livemode)
        page = await query_connection(
            query, lambda row: MerchantProductCollection.of(row, []), first=first, after=after
        )
        return await _with_products(page)

    @strawberry.field(description="One product collection with its products in order; null when not found.")
    async def product_collection(self, info: Info, id: strawberry.ID) -> MerchantProductCollection | None:
        row = await find_collection(info.context.business_id, info.context.livemode, id)
        return MerchantProductCollection.of(row, await collection_products(row)) if row else None

    @strawberry.field(description="The business's discounts, newest first.")
    async def discounts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MerchantDiscount]:
        query = discounts_of(info.context.business_id, info.context.livemode)
        return await query_connection(query, MerchantDiscount.of, first=first, after=after)

    @strawberry.field(description="One discount; null for an id outside the API key's business and mode.")
    async def discount(self, info: Info, id: strawberry.ID) -> MerchantDiscount | None:
        row = await find_discount(info.context.business_id, info.context.livemode, id)
        return MerchantDiscount.of(row) if row else None


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="Create a product in the API key's business and mode.")
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        return _product_payload(
            *await attempt(create_product(info.context.business_id, info.context.livemode, given(input)))
        )

    @strawberry.mutation(description="Change a product; existing subscriptions keep their price.")
    async def update_product(self, info: Info, input: UpdateProductInput) -> ProductPayload:
        row = await find_product(info.context.business_id, info.context.livemode, input.product_id)
        if row is None:
            return _product_payload(None, [PRODUCT_NOT_FOUND])
        return _product_payload(*await attempt(update_product(row, changes(input, "product_id"))))

    @strawberry.mutation(description="Stop offering a product in new plan changes; its subscribers keep it.")
    async def archive_product(self, info: Info, input: ProductInput) -> ProductPayload:
        return await _archived(info, input.product_id, archived=True)

    @strawberry.mutation(description="Offer an archived product again.")
    async def unarchive_product(self, info: Info, input: ProductInput) -> ProductPayload:
        return await _archived(info, input.product_id, archived=False)

    @strawberry.mutation(description="Create an ordered collection of recurring plans, lowest first.")
    async def create_product_collection(
        self, info: Info, input: CreateProductCollectionInput
    ) -> ProductCollectionPayload:
        work = create_collection(info.context.business_id, info.context.livemode, input.name, input.product_ids)
        return await _collection_payload(*await attempt(work))

    @strawberry.mutation(description="Rename a collection or replace its ordered products in one step.")
    async def update_product_collection(
        self, info: Info, input: UpdateProductCollectionInput
    ) -> ProductCollectionPayload:
        row = await find_collection(info.context.business_id, info.context.livemode, input.product_collection_id)
        if row is None:
            error = not_found("product collection", field="productCollectionId")
            return await _collection_payload(None, [error])
        return await _collection_payload(*await attempt(update_collection(row, input.name, input.product_ids)))

    @strawberry.mutation(description="Create a discount code in the API key's business and mode.")
    async def create_discount(self, info: Info, input: CreateDiscountInput) -> DiscountPayload:
        return _discount_payload(
            *await attempt(create_discount(info.context.business_id, info.context.livemode, given(input)))
        )

    @strawberry.mutation(description="Change a discount; its subscriptions get the new terms at renewal.")
    async def update_discount(self, info: Info, input: UpdateDiscountInput) -> DiscountPayload:
        row = await find_discount(info.context.business_id, info.context.livemode, input.discount_id)
        if row is None:
            return _discount_payload(None, [not_found("discount", field="discountId")])
        return _discount_payload(*await attempt(update_discount(row, changes(input, "discount_id"))))

    @strawberry.mutation(
        description="Delete a discount: no list, code or new subscription finds it again; the subscriptions that have "
        "it keep it for the renewals it has left, and its code stays taken."
    )
    async def delete_discount(self, info: Info, input: DeleteDiscountInput) -> DeleteDiscountPayload:
        row = await find_discount(info.context.business_id, info.context.livemode, input.discount_id)
        if row is None:
            return DeleteDiscountPayload(deleted_id=None, errors=[not_found("discount", field="discountId")])
        await delete_discount(row)
        return DeleteDiscountPayload(deleted_id=strawberry.ID(row.id), errors=[])


async def _archived(info: Info, product_id: strawberry.ID, *, archived: bool) -> ProductPayload:
    row = await find_product(info.context.business_id, info.context.livemode, product_id)
    if row is None:
        return _product_payload(None, [PRODUCT_NOT_FOUND])
    return _product_payload(await set_archived(row, archived), [])
