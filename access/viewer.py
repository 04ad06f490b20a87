"""The Viewer: the only door to customer-owned rows.

A Viewer holds the customer records a portal session may see (one in BUSINESS scope, every record with the
session's verified email in UNIFIED scope, always in one mode). Every customer-facing read goes through it, so an
id outside the scope answers exactly like an id that does not exist — and so does an id that could not exist at all
(empty, too long, malformed): the getters look rows up with `find_by_client_id`, and the list filters keep only the
business ids in scope.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models import (
    Business,
    Customer,
    Invoice,
    LicenseKey,
    LicenseKeyInstance,
    Payment,
    PaymentMethod,
    PortalSession,
    Refund,
    Subscription,
)
from models.enums import PaymentPurpose, RefundStatus, Scope, SubscriptionStatus
from models.ids import find_by_client_id


@dataclass(frozen=True)
class Viewer:
    session: PortalSession
    customers: tuple[Customer, ...]

    @property
    def scope(self) -> Scope:
        return self.session.scope

    @property
    def email(self) -> str:
        return self.session.email

    @property
    def livemode(self) -> bool:
        return self.session.livemode

    @property
    def customer_ids(self) -> list[str]:
        return [customer.id for customer in self.customers]

    @property
    def businesses(self) -> list[Business]:
        """The businesses in scope, by name, each once."""
        unique = {customer.business_id: customer.business for customer in self.customers}
        return sorted(unique.values(), key=lambda business: (business.name.lower(), business.id))

    @property
    def return_url(self) -> str:
        """Where "Return to {business}" leads in BUSINESS scope: the session's return URL, else the business's
        default; only http(s), and empty when there is none (the unified portal belongs to no business)."""
        if self.scope != Scope.BUSINESS:
            return ""
        business = self.business(self.session.business_id) if self.session.business_id else None
        url = self.session.return_url or (business.default_return_url if business else "")
        return url if urlsplit(url).scheme in {"http", "https"} else ""

    def business(self, business_id: str) -> Business | None:
        return next((b for b in self.businesses if b.id == business_id), None)

    def customer(self, business_id: str | None = None) -> Customer | None:
        """The customer record in the given business (or the only one, in BUSINESS scope)."""
        if business_id is None:
            return self.customers[0] if self.scope == Scope.BUSINESS and self.customers else None
        return next((c for c in self.customers if c.business_id == business_id), None)

    def _owned(self, model: type[Model], business_ids: Iterable[str] | None = None) -> QuerySet:
        query = model.filter(customer_id__in=self.customer_ids, livemode=self.livemode)
        if business_ids is not None:
            in_scope = {customer.business_id for customer in self.customers}
            query = query.filter(business_id__in=[wanted for wanted in business_ids if wanted in in_scope])
        return query

    def subscriptions(
        self, business_ids: Iterable[str] | None = None, statuses: Iterable[SubscriptionStatus] | None = None
    ) -> QuerySet:
        query = self._owned(Subscription, business_ids)
        return query.filter(status__in=list(statuses)) if statuses else query

    def invoices(self, business_ids: Iterable[str] | None = None) -> QuerySet:
        return self._owned(Invoice, business_ids)

    def purchases(self, business_ids: Iterable[str] | None = None) -> QuerySet:
        """Payments for one-time products."""
        return self._owned(Payment, business_ids).filter(purpose=PaymentPurpose.PURCHASE)

    def payments(self, business_ids: Iterable[str] | None = None) -> QuerySet:
        """Every payment: purchases, first periods, renewals, plan changes, reactivations."""
        return self._owned(Payment, business_ids)

    def license_keys(self, business_ids: Iterable[str] | None = None) -> QuerySet:
        return self._owned(LicenseKey, business_ids)

    def refunds(self, business_ids: Iterable[str] | None = None) -> QuerySet:
        """Refunds with a credit note: the succeeded ones (a pending or failed refund gave nothing back)."""
        return self._owned(Refund, business_ids).filter(status=RefundStatus.SUCCEEDED, credit_note_number__isnull=False)

    def payment_methods(self, business_ids: Iterable[str] | None = None, include_detached: bool = False) -> QuerySet:
        """Saved payment methods; a detached one still shows where a subscription or payment names it."""
        query = self._owned(PaymentMethod, business_ids)
        return query if include_detached else query.filter(detached_at__isnull=True)

    async def get_subscription(self, subscription_id: str) -> Subscription | None:
        return await find_by_client_id(self.subscriptions(), subscription_id)

    async def get_invoice(self, invoice_id: str) -> Invoice | None:
        return await find_by_client_id(self.invoices(), invoice_id)

    async def get_purchase(self, payment_id: str) -> Payment | None:
        return await find_by_client_id(self.purchases(), payment_id)

    async def get_license_key(self, license_key_id: str) -> LicenseKey | None:
        return await find_by_client_id(self.license_keys(), license_key_id)

    async def get_license_key_instance(self, instance_id: str) -> LicenseKeyInstance | None:
        """A device one of the viewer's license keys is activated on: an instance is in scope through its key."""
        instances = LicenseKeyInstance.filter(license_key_id__in=Subquery(self.license_keys().values("id")))
        return await find_by_client_id(instances, instance_id)

    async def get_refund(self, refund_id: str) -> Refund | None:
        return await find_by_client_id(self.refunds(), refund_id)

    async def get_payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        return await find_by_client_id(self.payment_methods(), payment_method_id)

    async def get_payment(self, payment_id: str) -> Payment | None:
        """Any payment of the viewer's (a purchase, a renewal, a reactivation)."""
        return await find_by_client_id(self.payments(), payment_id)


async def customers_in_scope(session: PortalSession) -> tuple[Customer, ...]:
    """The customer records a session may see, with their businesses, in one statement."""
    if session.scope == Scope.BUSINESS:
        query = Customer.filter(id=session.customer_id, livemode=session.livemode)
    else:
        query = Customer.filter(email=session.email, email_verified=True, livemode=session.livemode)
    return tuple(await query.select_related("business").order_by("created_at", "id"))
