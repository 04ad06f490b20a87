"""A sale for the payment, refund and license-key tests: a payment charged through the sandbox with its invoice and a
license key it handed out, and an API key of the business that sold it. tests/conftest.py loads it as a plugin, for
its fixture `sale` (one sale at Sakura Fonts, live)."""

from dataclasses import dataclass

import pytest

from billing.reactivation import reactivate
from models import Business, LicenseKey, Payment
from models.enums import LicenseKeyStatus, PaymentStatus
from tests.support.billing import FEATURES, Subscriber, billing_context, subscriber
from tests.support.merchant import bearer


@dataclass
class Sale:
    shop: Subscriber
    payment: Payment
    key: LicenseKey


async def paid_sale(business_name: str = "Sakura Fonts", livemode: bool = True) -> Sale:
    """A payment charged through the sandbox (a reactivation), with its invoice and a license key it handed out."""
    context = billing_context()
    shop = await subscriber(
        context, cards=("pm_card_visa",), currency="USD", price=5000, business_name=business_name, livemode=livemode
    )
    payment = await reactivate(
        shop.subscription, shop.cards["pm_card_visa"], client_key="pay-1", features=FEATURES, context=context
    )
    assert payment.status == PaymentStatus.SUCCEEDED
    key = await LicenseKey.create(
        business=shop.business,
        livemode=livemode,
        customer=shop.customer,
        product_id=shop.subscription.product_id,
        payment=payment,
        key=f"KEY-{payment.id[-10:]}",
        status=LicenseKeyStatus.ACTIVE,
    )
    return Sale(shop, payment, key)


@pytest.fixture
async def sale() -> Sale:
    return await paid_sale()


async def key_of(business_id: str, livemode: bool = True) -> dict[str, str]:
    return await bearer(await Business.get(id=business_id), livemode)


def key_for_foreign(sale: Sale, name: str, foreign_sale: Sale) -> str:
    """The business whose live key asks for `foreign_sale`: for the test-mode sale, that sale's own business."""
    return foreign_sale.shop.business.id if name == "test mode" else sale.shop.business.id
