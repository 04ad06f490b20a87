"""The customer's profile (`/profile`): one form of billing details, the email address with a form to change it, and
"Download my data" (`/profile/export`). In the unified portal the details form starts from the record changed last
(saying so when the records differ) and applies to the businesses ticked under "Apply to", all of them at first.

The forms post to `/profile` and `/profile/email` and run the customer schema's `updateProfile` and
`requestEmailChange`, so the page refuses exactly what a GraphQL client is refused, all or nothing. A refusal is
shown next to its field, with what was typed kept, and in a summary at the top of the form that links to each field
and takes the focus, so the page opens at it. A save sends what would change a chosen record (a changed address part
sends the whole address), so a field the customer left alone where the records agree never runs into a rule.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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
    "id email name phoneNumber taxId locale updatedAt editableFields"
    " billingAddress { line1 line2 city state postalCode country }"
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
_CHOSEN = "businessIds"
# The details form's id (the inputs' ids start with it) and the name of its "Apply to" checkboxes.
FORM_ID = "details"
APPLY_TO = "apply_to"


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
    """A form the page answers with: what was typed, the refusals by field path and the businesses it was for."""

    values: dict[str, str] | None = None
    errors: dict[str, str] | None = None
    chosen: tuple[str, ...] | None = None
    new_email: str = ""
    email_error: str = ""


def _values(customer: dict) -> dict[str, str]:
    return {field.name: field.current(customer) for field in FIELDS}


def _newest(records: list[dict]) -> dict:
    """The record changed last, whose details the form starts from."""
    return max(records, key=lambda record: datetime.fromisoformat(record["customer"]["updatedAt"]))


def _anchor(path: str, records: list[dict], unified: bool) -> str:
    """The id of the input a refusal of `path` links to; empty when the form has none."""
    field = next((field for field in FIELDS if field.path == path), None)
    if field is not None:
        return f"{FORM_ID}-{field.name}"
    if path == _ADDRESS:
        return f"{FORM_ID}-line1"
    if path == _CHOSEN and unified:
        return f"{APPLY_TO}-{records[0]['id']}"
    return ""


def _details(records: list[dict], submitted: Submitted, unified: bool) -> dict[str, Any]:
    """The one details form: the newest record's values (what was typed, after a refusal), the businesses each field
    is kept by, those it applies to and the refusals, each with the input it links to."""
    newest = _newest(records)
    current = _values(newest["customer"])
    errors = submitted.errors or {}
    order = [field.path for field in FIELDS]
    paths = sorted(errors, key=lambda path: order.index(path) if path in order else len(order))
    kept_by = {
        governed: [r["name"] for r in records if governed not in r["customer"]["editableFields"]]
        for governed in {field.governed_by for field in FIELDS}
    }
    return {
        "id": FORM_ID,
        "shown": {**current, **(submitted.values or {})},
        "errors": errors,
        "summary": [(_anchor(path, records, unified), errors[path]) for path in paths],
        "kept_by": kept_by,
        "locked": {governed for governed, names in kept_by.items() if len(names) == len(records)},
        "chosen": set(submitted.chosen if submitted.chosen is not None else (r["id"] for r in records)),
        "newest": newest["name"] if any(_values(r["customer"]) != current for r in records) else "",
    }


async def _render(visit: Visit, submitted: Submitted = Submitted(), *, status: int = 200) -> Response:
    data = (await visit.run(PROFILE_QUERY))["viewer"]
    records = [business for business in data["businesses"] if business["customer"]]
    context: dict[str, Any] = {
        "records": records,
        "details": _details(records, submitted, visit.viewer.scope == Scope.UNIFIED) if records else None,
        "apply_to": APPLY_TO,
        "countries": country_choices(visit.locale),
        "locales": SUPPORTED_LOCALES,
        "email_refused_by": [r["name"] for r in records if "EMAIL" not in r["customer"]["editableFields"]],
        "new_email": submitted.new_email,
        "email_error": submitted.email_error,
        "export_path": EXPORT_PATH,
        "notice": visit.request.query_params.get("updated", ""),
    }
    if visit.viewer.scope == Scope.BUSINESS:
        return visit.page("profile.html", data["businesses"][0], status=status, unified=False, **context)
    return render_page(
        visit.request,
        visit.settings,
        "profile.html",
        locale=visit.locale,
        brand=portal_brand(visit.settings),
        other_brands=tuple(graphql_brand(record) for record in records),
        livemode=visit.viewer.livemode,
        status=status,
        home_url="/",
        all_businesses_url="",
        email=visit.viewer.email,
        business=None,
        error="",
        unified=True,
        **context,
    )


@signed_in
async def profile_page(visit: Visit) -> Response:
    return await _render(visit)


def _sent(entered: dict[str, str], current: dict[str, str], chosen: list[dict]) -> dict[str, str]:
    """What a save sends: each field typed otherwise than the form showed it (`current`) or on which a chosen record
    differs from it, so every chosen record ends with the form's details; a changed address part sends the whole
    address, which is checked as one. A field left alone on which the records agree never runs into a rule."""
    fields = [field for field in FIELDS if field.name in entered]
    changed = {
        field.name
        for field in fields
        if entered[field.name] != current[field.name]
        or any(field.current(customer) != current[field.name] for customer in chosen)
    }
    if any(field.in_address and field.name in changed for field in fields):
        changed |= {field.name for field in fields if field.in_address}
    return {name: value for name, value in entered.items() if name in changed}


def _update_input(sent: dict[str, str], business_ids: list[str]) -> dict:
    """`UpdateProfileInput` for the values sent, by the form field names, to the businesses chosen."""
    update: dict = {_CHOSEN: business_ids}
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
    businesses = (await visit.run(PROFILE_QUERY))["viewer"]["businesses"]
    records = [business for business in businesses if business["customer"]]
    if not records:
        return visit.not_found()
    chosen = [value for value in form.getlist(APPLY_TO) if isinstance(value, str)]
    entered = {field.name: form_field(form, field.name) for field in FIELDS if field.name in form}
    current = _values(_newest(records)["customer"])
    sent = _sent(entered, current, [r["customer"] for r in records if r["id"] in chosen])
    answer = (await visit.run(UPDATE, input=_update_input(sent, chosen)))["updateProfile"]
    errors = answer["errors"]
    if not errors:
        return redirect(f"{PROFILE_PATH}?updated=profile")
    if errors[0]["code"] == NOT_FOUND:
        return visit.not_found()
    by_field: dict[str, str] = {}
    for error in errors:
        # Several businesses may refuse the same field, each saying so.
        by_field[error["field"]] = " ".join(filter(None, (by_field.get(error["field"]), error["message"])))
    return await _render(visit, Submitted(entered, by_field, tuple(chosen)), status=422)


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
