"""Rows loaded by a list of ids through one statement whose text does not grow with the list: the same rows, in the
same order, as tortoise's `filter(column__in=…)`, on SQLite and PostgreSQL."""

from models import Business, Product
from models.enums import Interval, PriceType
from models.rows_in import rows_in


async def products(business: Business, count: int) -> list[Product]:
    return [
        await Product.create(
            business=business,
            livemode=True,
            name=f"Plan {number}",
            price_type=PriceType.RECURRING,
            price=100 * number,
            currency="EUR",
            payment_frequency_interval=Interval.MONTH,
            payment_frequency_count=1,
        )
        for number in range(count)
    ]


async def test_the_rows_of_any_number_of_ids_in_one_statement_of_the_same_text(count_statements) -> None:
    shop = await Business.create(name="Shop", support_email="help@shop.test")
    other = await Business.create(name="Other", support_email="help@other.test")
    made = await products(shop, 30) + await products(other, 2)
    few, many = [made[3].id, made[31].id], [product.id for product in made[:25]]

    with count_statements() as counter:
        found_few = await rows_in(Product, "id", few, ("id",))
        found_many = await rows_in(Product, "id", [*many, "prd_missing"], ("id",))

    assert [row.id for row in found_few] == sorted(few)
    assert found_many == await Product.filter(id__in=many).order_by("id")
    assert [row.price for row in found_many] == [row.price for row in await Product.filter(id__in=many).order_by("id")]
    texts = [statement.rsplit(": ", 1)[0] for statement in counter.statements]
    assert len(texts) == 2 and texts[0] == texts[1]
    assert await rows_in(Product, "id", [], ("id",)) == []


async def test_rows_come_back_in_the_order_asked_with_their_values_typed() -> None:
    shop = await Business.create(name="Shop", support_email="help@shop.test")
    made = await products(shop, 3)

    found = await rows_in(Product, "business_id", [shop.id], ("price", "id"))

    assert [row.name for row in found] == ["Plan 0", "Plan 1", "Plan 2"]
    assert found[0].payment_frequency_interval is Interval.MONTH
    assert found[2].created_at == made[2].created_at
