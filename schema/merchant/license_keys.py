"""License keys for merchants: list them (by customer and status), look one up with the devices it is activated on,
and change its status, activation limit and expiry through billing.license_keys."""

from datetime import datetime

import strawberry

from billing.errors import BillingError
from billing.license_keys import UNCHANGED, update_license_key
from core.clock import utcnow
from models import Customer, LicenseKey, LicenseKeyInstance
from models.ids import find_by_client_id, matching_id
from schema.common.connections import Connection, query_connection
from schema.common.errors import UserError, user_error
from schema.customer.enums import LicenseKeyStatus
from schema.merchant.context import MerchantContext
from schema.merchant.inputs import not_found
from schema.merchant.loaders import child_connection
from schema.merchant.scoping import scoped


@strawberry.type(name="LicenseKeyInstance", description="A device a license key is activated on.")
class MerchantLicenseKeyInstance:
    id: strawberry.ID
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: LicenseKeyInstance) -> "MerchantLicenseKeyInstance":
        return cls(id=strawberry.ID(row.id), name=row.name, created_at=row.created_at)


@strawberry.type(name="LicenseKey", description="A license key handed out with a purchase or a subscription.")
class MerchantLicenseKey:
    id: strawberry.ID
    key: str
    status: LicenseKeyStatus
    activations_limit: int | None = strawberry.field(description="How many devices may use it; null: no limit.")
    expires_at: datetime | None
    customer_id: strawberry.ID
    product_id: strawberry.ID
    payment_id: strawberry.ID | None
    subscription_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: LicenseKey) -> "MerchantLicenseKey":
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            status=row.status,
            activations_limit=row.activations_limit,
            expires_at=row.expires_at,
            customer_id=strawberry.ID(row.customer_id),
            product_id=strawberry.ID(row.product_id),
            payment_id=strawberry.ID(row.payment_id) if row.payment_id else None,
            subscription_id=strawberry.ID(row.subscription_id) if row.subscription_id else None,
            created_at=row.created_at,
        )

    @strawberry.field(description="How many devices the key is activated on.")
    async def instances_count(self, info: strawberry.Info[MerchantContext, None]) -> int:
        return await info.context.loaders.instance_counts.load(self.id)

    @strawberry.field(description="The devices the key is activated on, newest first.")
    async def instances(
        self, info: strawberry.Info[MerchantContext, None], first: int | None = None, after: str | None = None
    ) -> Connection[MerchantLicenseKeyInstance]:
        loader = info.context.loaders.license_key_instances
        return await child_connection(loader, self.id, MerchantLicenseKeyInstance.from_row, first=first, after=after)


@strawberry.input(description="The key to change and what to change; an omitted field is left as it is.")
class UpdateLicenseKeyInput:
    license_key_id: strawberry.ID
    status: LicenseKeyStatus | None = None
    activations_limit: int | None = strawberry.field(default=strawberry.UNSET, description="Null: no limit.")
    expires_at: datetime | None = strawberry.field(default=strawberry.UNSET, description="Null: never.")


@strawberry.type
class LicenseKeyPayload:
    license_key: MerchantLicenseKey | None = strawberry.field(description="The key as it is now; null on errors.")
    errors: list[UserError]


@strawberry.type
class LicenseKeyQuery:
    @strawberry.field(description="A license key of the API key's business and mode; null for any other id.")
    async def license_key(
        self, info: strawberry.Info[MerchantContext, None], id: strawberry.ID
    ) -> MerchantLicenseKey | None:
        row = await find_by_client_id(scoped(LicenseKey, info.context), id)
        return MerchantLicenseKey.from_row(row) if row else None

    @strawberry.field(description="License keys, newest first, optionally of one customer or status.")
    async def license_keys(
        self,
        info: strawberry.Info[MerchantContext, None],
        first: int | None = None,
        after: str | None = None,
        customer_id: strawberry.ID | None = None,
        status: LicenseKeyStatus | None = None,
    ) -> Connection[MerchantLicenseKey]:
        query = matching_id(scoped(LicenseKey, info.context), "customer_id", customer_id, Customer)
        if status is not None:
            query = query.filter(status=status)
        return await query_connection(query, MerchantLicenseKey.from_row, first=first, after=after)


@strawberry.type
class LicenseKeyMutations:
    @strawberry.mutation(description="Change a license key's status, activation limit (null: none) or expiry.")
    async def update_license_key(
        self, info: strawberry.Info[MerchantContext, None], input: UpdateLicenseKeyInput
    ) -> LicenseKeyPayload:
        key = await find_by_client_id(scoped(LicenseKey, info.context), input.license_key_id)
        if key is None:
            return LicenseKeyPayload(license_key=None, errors=[not_found("license key", field="licenseKeyId")])
        activations_limit, expires_at = input.activations_limit, input.expires_at
        try:
            updated = await update_license_key(
                key,
                now=utcnow(),
                status=input.status,
                activations_limit=UNCHANGED if activations_limit is strawberry.UNSET else activations_limit,
                expires_at=UNCHANGED if expires_at is strawberry.UNSET else expires_at,
            )
        except BillingError as error:
            return LicenseKeyPayload(license_key=None, errors=[user_error(error)])
        return LicenseKeyPayload(license_key=MerchantLicenseKey.from_row(updated), errors=[])
