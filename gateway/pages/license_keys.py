"""A license key's own page (`/license-keys/{id}`): the key to copy, its status, product, expiry and activations,
and the devices it is activated on, each with a Deactivate form (`POST /license-keys/{id}/deactivate`) that frees
an activation and comes back with a notice.

Every read and write is the customer GraphQL schema's (`node`, `deactivateLicenseKeyInstance`), so a key or an
instance outside the session's scope answers like one that does not exist.
"""

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    Visit,
    back_to_page,
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


@signed_in_form
async def deactivate_instance(visit: Visit, form: FormData) -> Response:
    answer = (await visit.run(DEACTIVATE, instance=form_field(form, "instance_id")))["deactivateLicenseKeyInstance"]
    if answer["licenseKey"]:
        return redirect(with_params(license_key_path(answer["licenseKey"]["id"]), updated=DEACTIVATED))
    error = answer["errors"][0]["message"]
    return await _render(visit, visit.request.path_params["license_key_id"], status=422, error=error)


back_to_license_key = back_to_page(license_key_path, "license_key_id")


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route("/license-keys/{license_key_id}", license_key_page, settings),
        route("/license-keys/{license_key_id}/deactivate", deactivate_instance, settings, "POST"),
        route("/license-keys/{license_key_id}/deactivate", back_to_license_key, settings),
    ]
