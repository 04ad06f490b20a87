"""A license key's own page (`/license-keys/{id}`): the key to copy, its status, product, expiry and activations,
and the devices it is activated on, each with a Deactivate button that first asks to confirm
(`GET /license-keys/{id}/deactivate?instance_id=lki_…`, see gateway.pages.confirmations); the confirmed form
(`POST /license-keys/{id}/deactivate`) frees an activation and comes back with a notice.

Every read and write is the customer GraphQL schema's (`node`, `deactivateLicenseKeyInstance`), so a key or an
instance outside the session's scope answers like one that does not exist.
"""

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.pages.confirmations import Confirmation, ConfirmationKind, confirmation_page, confirmed
from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    Visit,
    back_with_query,
    form_field,
    redirect,
    route,
    signed_in,
    signed_in_form,
    with_params,
)
from gateway.settings import Settings

LICENSE_KEY_QUERY = f"""
query LicenseKeyPage($id: ID!) {{
  node(id: $id) {{
    ... on LicenseKey {{
      id key status activationsLimit instancesCount expiresAt createdAt
      product {{ name }}
      instances {{ id name createdAt }}
      business {{ {BUSINESS_FIELDS} }}
    }}
  }}
}}
"""
DEACTIVATE = """
mutation Deactivate($instance: ID!) {
  deactivateLicenseKeyInstance(input: {instanceId: $instance}) { licenseKey { id } errors { code message } }
}
"""
# The `?updated=` value a deactivation's redirect names, for the page's notice.
DEACTIVATED = "instance_deactivated"


def license_key_path(license_key_id: str) -> str:
    return f"/license-keys/{license_key_id}"


async def _render(visit: Visit, license_key_id: str, *, status: int = 200, error: str = "") -> Response:
    license_key = (await visit.run(LICENSE_KEY_QUERY, id=license_key_id))["node"]
    if not license_key:
        return visit.not_found()
    return visit.page(
        "license_key.html",
        license_key["business"],
        status=status,
        error=error,
        license_key=license_key,
        deactivated=visit.request.query_params.get("updated") == DEACTIVATED,
    )


@signed_in
async def license_key_page(visit: Visit) -> Response:
    return await _render(visit, visit.request.path_params["license_key_id"])


async def _confirm_deactivation(visit: Visit, instance_id: str) -> Response:
    """The confirmation of deactivating one of the key's devices; a device not listed on the key (another
    customer's, one already deactivated) is not found, like a missing one."""
    license_key = (await visit.run(LICENSE_KEY_QUERY, id=visit.request.path_params["license_key_id"]))["node"]
    instances = license_key["instances"] if license_key else []
    instance = next((instance for instance in instances if instance["id"] == instance_id), None)
    if license_key is None or instance is None:
        return visit.not_found()
    path = license_key_path(license_key["id"])
    confirmation = Confirmation(
        ConfirmationKind.DEACTIVATE_DEVICE, instance, f"{path}/deactivate", path, {"instance_id": instance_id}
    )
    return confirmation_page(visit, license_key["business"], confirmation)


@signed_in
async def deactivation_confirmation(visit: Visit) -> Response:
    """The confirmation of `?instance_id=`; without one (the language links of a refused deactivation's page), the
    key's page."""
    instance_id = visit.request.query_params.get("instance_id")
    if instance_id is None:
        return back_with_query(visit, license_key_path(visit.request.path_params["license_key_id"]))
    return await _confirm_deactivation(visit, instance_id)


@signed_in_form
async def deactivate_instance(visit: Visit, form: FormData) -> Response:
    if not confirmed(form, ConfirmationKind.DEACTIVATE_DEVICE):
        return await _confirm_deactivation(visit, form_field(form, "instance_id"))
    answer = (await visit.run(DEACTIVATE, instance=form_field(form, "instance_id")))["deactivateLicenseKeyInstance"]
    if answer["licenseKey"]:
        return redirect(with_params(license_key_path(answer["licenseKey"]["id"]), updated=DEACTIVATED))
    error = answer["errors"][0]["message"]
    return await _render(visit, visit.request.path_params["license_key_id"], status=422, error=error)


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route("/license-keys/{license_key_id}", license_key_page, settings),
        route("/license-keys/{license_key_id}/deactivate", deactivate_instance, settings, "POST"),
        route("/license-keys/{license_key_id}/deactivate", deactivation_confirmation, settings),
    ]
