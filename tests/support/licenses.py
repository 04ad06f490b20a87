"""A customer holding license keys, for the license-key page, mutation and API tests: a shop's customer with one
key of a one-time product (`licensed`), more keys of theirs (`key_of`), activated on named devices."""

from dataclasses import dataclass

from models import Business, Customer, LicenseKey, LicenseKeyInstance, Product
from models.enums import LicenseKeyStatus, PriceType


@dataclass
class Licensed:
    business: Business
    customer: Customer
    product: Product
    key: LicenseKey


async def licensed(
    key: str = "SAKURA-0001",
    *,
    business_name: str = "Sakura Fonts",
    email: str = "ada@example.com",
    livemode: bool = True,
    devices: tuple[str, ...] = (),
    **fields: object,
) -> Licensed:
    """A customer at a shop holding one license key (see `key_of`)."""
    business = await Business.create(name=business_name, support_email="help@shop.example")
    customer = await Customer.create(
        business=business, livemode=livemode, email=email, email_verified=True, name="Ada Lovelace"
    )
    product = await Product.create(
        business=business,
        livemode=livemode,
        name="Library Studio",
        price_type=PriceType.ONE_TIME,
        price=4900,
        currency="USD",
        license_key_enabled=True,
    )
    return Licensed(business, customer, product, await key_of(customer, product, key, devices, **fields))


async def key_of(
    customer: Customer, product: Product, key: str, devices: tuple[str, ...] = (), **fields: object
) -> LicenseKey:
    """A key of the customer for the product (active, 3 activations unless `fields` say otherwise), activated on
    `devices`."""
    fields = {"status": LicenseKeyStatus.ACTIVE, "activations_limit": 3, **fields}
    row = await LicenseKey.create(
        business_id=customer.business_id,
        livemode=customer.livemode,
        customer=customer,
        product=product,
        key=key,
        **fields,
    )
    for name in devices:
        await LicenseKeyInstance.create(license_key=row, name=name)
    return row


async def device_names(key: LicenseKey) -> list[str]:
    return sorted(await LicenseKeyInstance.filter(license_key_id=key.id).values_list("name", flat=True))
