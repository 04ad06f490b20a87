"""The customer's profile (`/profile`): one form per customer record in scope (in the unified portal one per business,
each of which can also be saved for every business), the email address with a form to change it, and "Download my
data" (`/profile/export`).

The forms post to `/profile` and `/profile/email` and run the customer schema's `updateProfile` and
`requestEmailChange`, so the page refuses exactly what a GraphQL client is refused; a refusal is shown next to its
field with what was typed kept. Saving one business's form sends only what changed (a changed address part sends the
whole address), so a field the customer left alone never runs into a rule; saving it for every business sends the
whole form, which then becomes every record's details.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response
from starlette.routing import BaseRoute

from access.data_export import export_data
from core.display import country_choices, readable_phone
from core.i18n import SUPPORTED_LOCALES
from gateway.pages.common import graphql_brand, portal_brand, render_page
from gateway.pages.signed_in import (
    BUSINESS_FIELDS,
    NOT_FOUND,
    Visit,
    form_field,
    redirect,
    route,
    signed_in,
    signed_in_form,
)
from gateway.settings import Settings
from models.enums import Scope

PROFILE_PATH = "/profile"
EMAIL_PATH = "/profile/email"
EXPORT_PATH = "/profile/export"
EXPORT_FILENAME = "customer-data.json"
_CUSTOMER_FIELDS = (
    "id email name phoneNumber taxId locale editableFields billingAddress { line1 line2 city state postalCode country }"
)
PROFILE_QUERY = f"""
query Profile {{ viewer {{ email businesses {{ {BUSINESS_FIELDS} customer {{ {_CUSTOMER_FIELDS} }} }} }} }}
"""
UPDATE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) { customers { id } errors { code field message } }
}
"""
REQUEST_EMAIL_CHANGE = """
mutation RequestEmailChange($email: String!) {
  requestEmailChange(input: {newEmail: $email}) { errors { code message } }
}
"""
_ADDRESS = "billingAddress"


@dataclass(frozen=True)
class Field:
    """An input of a profile form: its name in the form, its path in `Customer` and `UpdateProfileInput` alike,
    and the ProfileField (of `editableFields`) that decides whether the business lets it change."""

    name: str
    path: str
    governed_by: str
    # How the form shows the stored value (the phone as people write it); the input reads either form back.
    shown_as: Callable[[str], str] = str

    @property
    def in_address(self) -> bool:
        return self.path.startswith(f"{_ADDRESS}.")

    def current(self, customer: dict) -> str:
        value: Any = customer
        for key in self.path.split("."):
            value = value[key]
        return self.shown_as(str(value or ""))


FIELDS = (
    Field("name", "name", "NAME"),
    Field("phone_number", "phoneNumber", "PHONE_NUMBER", shown_as=readable_phone),
    Field("line1", f"{_ADDRESS}.line1", "BILLING_ADDRESS"),
    Field("line2", f"{_ADDRESS}.line2", "BILLING_ADDRESS"),
    Field("city", f"{_ADDRESS}.city", "BILLING_ADDRESS"),
    Field("state", f"{_ADDRESS}.state", "BILLING_ADDRESS"),
    Field("postal_code", f"{_ADDRESS}.postalCode", "BILLING_ADDRESS"),
    Field("country", f"{_ADDRESS}.country", "BILLING_ADDRESS"),
    Field("tax_id", "taxId", "TAX_ID"),
    Field("locale", "locale", "LOCALE"),
)


@dataclass(frozen=True)
class Submitted:
    """A form the page answers with: which business's, what was typed and the refusals by field path."""

    business_id: str = ""
    values: dict | None = None
    errors: dict | None = None
    apply_to_all: bool = False
    new_email: str = ""
    email_error: str = ""


def _records(businesses: list[dict], submitted: Submitted) -> list[dict]:
    """One form per business with a record: its values (what was typed, for the submitted one) and refusals."""
    records = []
    for business in businesses:
        customer = business["customer"]
        if customer is None:
            continue
        mine = business["id"] == submitted.business_id
        values = {field.name: field.current(customer) for field in FIELDS}
        records.append(
            {
                "business": business,
                "brand": graphql_brand(business),
                "customer": customer,
                "editable": set(customer["editableFields"]),
                "shown": {**values, **(submitted.values or {})} if mine else values,
                "errors": (submitted.errors or {}) if mine else {},
                "apply_to_all": mine and submitted.apply_to_all,
            }
        )
    return records


async def _render(visit: Visit, submitted: Submitted = Submitted(), *, status: int = 200, error: str = "") -> Response:
    data = (await visit.run(PROFILE_QUERY))["viewer"]
    records = _records(data["businesses"], submitted)
    context: dict[str, Any] = {
        "records": records,
        "fields": FIELDS,
        "countries": country_choices(visit.locale),
        "locales": SUPPORTED_LOCALES,
        "email_refused_by": [r["business"]["name"] for r in records if "EMAIL" not in r["editable"]],
        "new_email": submitted.new_email,
        "email_error": submitted.email_error,
        "export_path": EXPORT_PATH,
        "notice": visit.request.query_params.get("updated", ""),
    }
    if visit.viewer.scope == Scope.BUSINESS:
        return visit.page("profile.html", data["businesses"][0], status=status, error=error, unified=False, **context)
    return render_page(
        visit.request,
        visit.settings,
        "profile.html",
        locale=visit.locale,
        brand=portal_brand(visit.settings),
        other_brands=tuple(record["brand"] for record in records),
        livemode=visit.viewer.livemode,
        status=status,
        home_url="/",
        all_businesses_url="",
        email=visit.viewer.email,
        business=None,
        error=error,
        unified=True,
        **context,
    )


@signed_in
async def profile_page(visit: Visit) -> Response:
    return await _render(visit)


def _sent(entered: dict[str, str], customer: dict, apply_to_all: bool) -> dict[str, str]:
    """What a save sends: the whole form for every business, else what changed (a changed address part sends the
    whole address, which is checked as one)."""
    if apply_to_all:
        return entered
    fields = [field for field in FIELDS if field.name in entered]
    changed = {field.name for field in fields if entered[field.name] != field.current(customer)}
    if any(field.in_address and field.name in changed for field in fields):
        changed |= {field.name for field in fields if field.in_address}
    return {name: value for name, value in entered.items() if name in changed}


def _update_input(sent: dict[str, str], business_id: str, apply_to_all: bool) -> dict:
    """`UpdateProfileInput` for the values sent, by the form field names."""
    update: dict = {"applyToAllBusinesses": True} if apply_to_all else {"businessId": business_id}
    for field in FIELDS:
        if field.name in sent:
            *parents, leaf = field.path.split(".")
            target = update
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = sent[field.name]
    return update


@signed_in_form
async def save_profile(visit: Visit, form: FormData) -> Response:
    business_id = form_field(form, "business")
    businesses = (await visit.run(PROFILE_QUERY))["viewer"]["businesses"]
    business = next((b for b in businesses if b["id"] == business_id and b["customer"]), None)
    if business is None:
        return visit.not_found()
    apply_to_all = form_field(form, "apply_to") == "all"
    entered = {field.name: form_field(form, field.name) for field in FIELDS if field.name in form}
    sent = _sent(entered, business["customer"], apply_to_all)
    if not sent:
        return redirect(f"{PROFILE_PATH}?updated=profile")
    answer = (await visit.run(UPDATE, input=_update_input(sent, business_id, apply_to_all)))["updateProfile"]
    errors = answer["errors"]
    if not errors:
        return redirect(f"{PROFILE_PATH}?updated=profile")
    if errors[0]["code"] == NOT_FOUND:
        return visit.not_found()
    by_field = {error["field"]: error["message"] for error in errors}
    known = {field.path for field in FIELDS} | {_ADDRESS}
    submitted = Submitted(business_id, entered, by_field, apply_to_all)
    elsewhere = " ".join(message for field, message in by_field.items() if field not in known)
    return await _render(visit, submitted, status=422, error=elsewhere)


@signed_in_form
async def ask_email_change(visit: Visit, form: FormData) -> Response:
    new_email = form_field(form, "new_email")
    errors = (await visit.run(REQUEST_EMAIL_CHANGE, email=new_email))["requestEmailChange"]["errors"]
    if not errors:
        return redirect(f"{PROFILE_PATH}?updated=email_link_sent")
    status = 429 if errors[0]["code"] == "RATE_LIMITED" else 422
    submitted = Submitted(new_email=new_email, email_error=" ".join(error["message"] for error in errors))
    return await _render(visit, submitted, status=status)


@signed_in
async def download_data(visit: Visit) -> Response:
    """Everything the session may see, as a JSON attachment that no cache keeps."""
    body = json.dumps(await export_data(visit.viewer), ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"',
            "Cache-Control": "private, no-store",
        },
    )


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        route(PROFILE_PATH, profile_page, settings),
        route(PROFILE_PATH, save_profile, settings, "POST"),
        route(EMAIL_PATH, ask_email_change, settings, "POST"),
        route(EXPORT_PATH, download_data, settings),
    ]
