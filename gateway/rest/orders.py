"""What Dodo's creates of a subscription and of a one-time payment share: the `customer` (an existing `customer_id`
or an inline new customer `{email, name, phone_number}`) and the `billing` address, which becomes the customer's
(the portal keeps one address per customer).

Dodo always knows a billing country: its `billing.country` is required in these creates and in the subscription and
payment it answers. So a create needs one, given in `billing` or already the customer's; without it the answer is a
422 on `billing.country` and nothing is written (an inline customer is not created either).
"""

from typing import Any

from core.customer_fields import AddressChanges
from gateway.rest.common import MerchantCall
from gateway.rest.customers import mapping, text
from gateway.rest.errors import RestError, not_found
from merchants.customers import CustomerFields, create_customer, customers_of, find_customer, update_customer
from merchants.inputs import MerchantErrorCode
from models import Customer

_NO_COUNTRY = "billing.country is required: the customer has no billing country yet."


def _billing(body: dict[str, Any]) -> AddressChanges | None:
    """Dodo's `billing` as the portal's address; its `country` is required when it is given."""
    billing = mapping(body, "billing")
    if billing is None:
        return None
    if not text(billing, "country"):
        raise RestError(MerchantErrorCode.INVALID_INPUT, _NO_COUNTRY, "billing.country")
    return AddressChanges(
        line1=text(billing, "street"),
        city=text(billing, "city"),
        state=text(billing, "state"),
        postal_code=text(billing, "zipcode"),
        country=text(billing, "country"),
    )


async def _known_customer(call: MerchantCall, given: dict[str, Any]) -> Customer | None:
    """The customer `customer` names: by id (404 when it is not the key's), else the one with the inline email."""
    customer_id = text(given, "customer_id")
    if customer_id is not None:
        customer = await find_customer(call.business_id, call.livemode, customer_id)
        if customer is None:
            raise not_found("customer")
        return customer
    email = text(given, "email")
    if email is None:
        message = "customer needs a customer_id or a new customer's email."
        raise RestError(MerchantErrorCode.INVALID_INPUT, message, "customer.customer_id")
    return await customers_of(call.business_id, call.livemode, email).first()


async def order_customer(call: MerchantCall, body: dict[str, Any]) -> Customer:
    """The customer a create is for, with `billing` as their address; checked before anything is written."""
    given = mapping(body, "customer") or {}
    address = _billing(body)
    customer = await _known_customer(call, given)
    if address is None and (customer is None or not customer.billing_country):
        raise RestError(MerchantErrorCode.INVALID_INPUT, _NO_COUNTRY, "billing.country")
    if customer is None:
        fields = CustomerFields(
            name=text(given, "name"), phone_number=text(given, "phone_number"), billing_address=address
        )
        # The email is text: _known_customer read it.
        return (await create_customer(call.business_id, call.livemode, str(given["email"]), fields)).customer
    if address is None:
        return customer
    return await update_customer(customer, CustomerFields(billing_address=address))
