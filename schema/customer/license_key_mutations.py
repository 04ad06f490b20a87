"""Mutations of the customer's license keys: deactivate a device, which frees an activation. The instance is found
through the Viewer; the rules are billing's."""

import strawberry

from billing.license_activation import deactivate_instance
from schema.common.errors import UserError
from schema.customer.actions import not_found
from schema.customer.license_keys import LicenseKey
from schema.customer.lookahead import built_node


@strawberry.input
class DeactivateLicenseKeyInstanceInput:
    instance_id: strawberry.ID


@strawberry.type
class LicenseKeyPayload:
    license_key: LicenseKey | None
    errors: list[UserError]


@strawberry.type
class LicenseKeyMutations:
    @strawberry.mutation(description="Deactivate a device of a license key, so the key can be activated elsewhere.")
    async def deactivate_license_key_instance(
        self, info: strawberry.Info, input: DeactivateLicenseKeyInstanceInput
    ) -> LicenseKeyPayload:
        viewer = info.context.signed_in_viewer()
        instance = await viewer.get_license_key_instance(str(input.instance_id))
        # An instance outside the scope, or already gone, is answered exactly as one that never existed.
        row = await viewer.get_license_key(instance.license_key_id) if instance else None
        if row is None or not await deactivate_instance(instance):
            return LicenseKeyPayload(license_key=None, errors=[not_found(info, "instanceId")])
        return LicenseKeyPayload(license_key=await built_node(info, LicenseKey.build, row, "licenseKey"), errors=[])
