"""The customer's profile: `updateProfile` as a GraphQL client sees it (validation and normalisation of phone, tax
ID, address and language, the business's allowed fields, one record, the businesses chosen or every record of the
unified portal, ids outside the scope) and the `/profile` page over it (one details form applied to the businesses
chosen, errors beside their fields and in a summary linking to them, CSRF)."""

import re

import httpx
import pytest

from access.sessions import viewer_for_token
from core.i18n import SUPPORTED_LOCALES
from models import Customer, Invoice, PortalConfiguration
from schema.customer import build_context, schema
from tests.support.billing import billing_context
from tests.support.factories import POLICY, business, business_token, unified_token
from tests.support.portal import create_shop, csrf_from

PROFILE_FIELDS = "id name phoneNumber taxId locale billingAddress { line1 line2 city state postalCode country }"
UPDATE = f"""mutation Update($input: UpdateProfileInput!) {{
  updateProfile(input: $input) {{ customers {{ {PROFILE_FIELDS} }} errors {{ code field message }} }} }}"""
EDITABLE = "query { viewer { businesses { id customer { editableFields } } } }"
SAVED = {"name", "phone_number", "tax_id", "locale", "billing_line1", "billing_city", "billing_postal_code"}
SAVED |= {"billing_country", "billing_state", "billing_line2"}
FIELD_ERROR = re.compile(r'<p class="field-error" id="([^"]+)-error">([^<]*)</p>')
SUMMARY_LINK = re.compile(r'<li><a href="#([^"]+)">([^<]*)</a></li>')


async def run(session: str, query: str, locale: str = "en", **variables) -> dict:
    viewer = await viewer_for_token(session, POLICY)
    context = build_context(viewer, locale, "req_test", billing_context())
    result = await schema.execute(query, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return result.data


async def update(session: str, *, reader: str = "en", **input) -> dict:
    """`updateProfile` with `input`, asked by a reader of that language."""
    return (await run(session, UPDATE, reader, input=input))["updateProfile"]


async def snapshot(customer: Customer) -> dict:
    row = await Customer.get(id=customer.id)
    return {column: getattr(row, column) for column in SAVED}


async def customer_at(name: str, email: str = "ada@example.com", **fields) -> Customer:
    return await Customer.create(
        business=await business(name), livemode=True, email=email, email_verified=True, name="Ada", **fields
    )


async def allow_only(customer: Customer, *allowed: str, enabled: bool = True) -> None:
    features = {"customer_update": {"enabled": enabled, "allowed_updates": list(allowed)}}
    await PortalConfiguration.create(
        business_id=customer.business_id, livemode=True, is_default=True, features=features
    )


@pytest.mark.parametrize(
    ("country", "given", "stored"),
    [
        ("DE", {"phoneNumber": "030 1234567"}, {"phone_number": "+49301234567"}),
        ("US", {"phoneNumber": "+44 20 7946 0958"}, {"phone_number": "+442079460958"}),
        ("DE", {"taxId": "136 695 976"}, {"tax_id": "DE136695976"}),
        ("DE", {"taxId": "de136695976"}, {"tax_id": "DE136695976"}),
        ("FR", {"taxId": "FR 40 303 265 045"}, {"tax_id": "FR40303265045"}),
        ("GR", {"taxId": "094259216"}, {"tax_id": "EL094259216"}),
        ("GB", {"taxId": "980 7806 84"}, {"tax_id": "GB980780684"}),
        ("AU", {"taxId": "83 914 571 673"}, {"tax_id": "83914571673"}),
        ("IN", {"taxId": "27aapfu0939f1zv"}, {"tax_id": "27AAPFU0939F1ZV"}),
        ("US", {"taxId": "  12-3456789  "}, {"tax_id": "12-3456789"}),
        ("DE", {"locale": "JA"}, {"locale": "ja"}),
        ("BR", {"locale": "pt"}, {"locale": "pt-BR"}),
        ("TW", {"locale": "zh_TW"}, {"locale": "zh-Hant"}),
        ("DE", {"name": "  Ada King  "}, {"name": "Ada King"}),
    ],
)
async def test_valid_values_are_stored_normalised(country: str, given: dict, stored: dict) -> None:
    customer = await customer_at("Acme", billing_country=country)
    answer = await update(await business_token(customer), **given)
    row = await Customer.get(id=customer.id)
    assert answer["errors"] == []
    assert {column: getattr(row, column) for column in stored} == stored


async def test_a_new_country_reads_the_phone_number_and_tax_id_given_with_it() -> None:
    customer = await customer_at("Acme", billing_country="US")
    answer = await update(
        await business_token(customer),
        phoneNumber="030 1234567",
        taxId="136695976",
        billingAddress={"line1": "Unter den Linden 1", "postalCode": "10117", "city": "Berlin", "country": "de"},
    )
    [saved] = answer["customers"]
    assert answer["errors"] == []
    assert (saved["phoneNumber"], saved["taxId"]) == ("+49301234567", "DE136695976")
    assert saved["billingAddress"] == {
        "line1": "Unter den Linden 1",
        "line2": "",
        "city": "Berlin",
        "state": "",
        "postalCode": "10117",
        "country": "DE",
    }


LONG = "x" * 300


@pytest.mark.parametrize(
    ("country", "given", "field", "message"),
    [
        ("DE", {"phoneNumber": "12"}, "phoneNumber", "Enter a valid phone number."),
        ("DE", {"phoneNumber": "call me"}, "phoneNumber", "Enter a valid phone number."),
        ("", {"phoneNumber": "030 1234567"}, "phoneNumber", "starts with + and its country code"),
        ("DE", {"taxId": "DE136695977"}, "taxId", "This is not a valid tax ID for Germany."),
        ("DE", {"taxId": "FR40303265045"}, "taxId", "This is not a valid tax ID for Germany."),
        ("FR", {"taxId": "FR00303265045"}, "taxId", "This is not a valid tax ID for France."),
        ("GB", {"taxId": "GB980780685"}, "taxId", "This is not a valid tax ID for United Kingdom."),
        ("AU", {"taxId": "83 914 571 674"}, "taxId", "This is not a valid tax ID for Australia."),
        ("IN", {"taxId": "27AAPFU0939F1ZX"}, "taxId", "This is not a valid tax ID for India."),
        ("DE", {"name": LONG[:201]}, "name", "Use at most 200 characters."),
        ("DE", {"name": "Ada\nKing"}, "name", "Remove the line breaks and control characters."),
        ("DE", {"name": "Ada\x00"}, "name", "Remove the line breaks and control characters."),
        ("DE", {"phoneNumber": LONG[:41]}, "phoneNumber", "Use at most 40 characters."),
        ("DE", {"taxId": LONG[:51]}, "taxId", "Use at most 50 characters."),
        ("DE", {"billingAddress": {"line1": LONG[:201]}}, "billingAddress.line1", "Use at most 200 characters."),
        ("DE", {"billingAddress": {"city": LONG[:101]}}, "billingAddress.city", "Use at most 100 characters."),
        ("DE", {"billingAddress": {"state": LONG[:101]}}, "billingAddress.state", "Use at most 100 characters."),
        ("DE", {"billingAddress": {"postalCode": LONG[:21]}}, "billingAddress.postalCode", "at most 20"),
        ("DE", {"billingAddress": {"country": "XX"}}, "billingAddress.country", "two-letter code"),
        ("DE", {"billingAddress": {"country": "EU"}}, "billingAddress.country", "two-letter code"),
        ("DE", {"billingAddress": {"country": "Germany"}}, "billingAddress.country", "two-letter code"),
        # A refused country does not make a number fine in the current one look wrong too.
        ("DE", {"billingAddress": {"country": "XX"}, "phoneNumber": "030 1234567"}, "billingAddress.country", "DE or"),
        ("DE", {"locale": "no"}, "locale", f"Choose one of the portal's languages: {', '.join(SUPPORTED_LOCALES)}."),
    ],
)
async def test_bad_input_is_refused_beside_its_field_and_changes_nothing(
    country: str, given: dict, field: str, message: str
) -> None:
    customer = await customer_at("Acme", billing_country=country, phone_number="+14155550100", tax_id="keep")
    before = await snapshot(customer)

    answer = await update(await business_token(customer), **{"name": "Ada Changed", **given})

    assert answer["customers"] == []
    assert [(error["code"], error["field"]) for error in answer["errors"]] == [("INVALID_INPUT", field)]
    assert message in answer["errors"][0]["message"]
    assert await snapshot(customer) == before


async def test_errors_speak_the_readers_language() -> None:
    customer = await customer_at("Acme", billing_country="DE")
    answer = await update(await business_token(customer), reader="ja", name="x" * 201)
    assert answer["errors"][0]["message"] == "200 文字以内で入力してください。"


async def test_fields_the_business_does_not_allow_are_refused_and_nothing_changes() -> None:
    customer = await customer_at("Acme", billing_country="DE")
    await allow_only(customer, "name")
    session = await business_token(customer)
    before = await snapshot(customer)

    refused = await update(session, name="Ada King", phoneNumber="+49301234567", taxId="DE136695976")
    editable = (await run(session, EDITABLE))["viewer"]["businesses"][0]["customer"]["editableFields"]

    assert [(error["code"], error["field"]) for error in refused["errors"]] == [
        ("NOT_ALLOWED", "phoneNumber"),
        ("NOT_ALLOWED", "taxId"),
    ]
    assert refused["errors"][0]["message"] == "Acme does not let you change this here. Contact them instead."
    assert await snapshot(customer) == before
    assert editable == ["NAME", "LOCALE"]
    assert (await update(session, name="Ada King"))["errors"] == []


async def test_with_customer_updates_off_only_the_language_can_change() -> None:
    customer = await customer_at("Acme")
    await allow_only(customer, "name", "phone", enabled=False)
    session = await business_token(customer)

    refused = await update(session, name="Ada King")
    language = await update(session, locale="sv")

    assert [error["code"] for error in refused["errors"]] == ["NOT_ALLOWED"]
    assert language["errors"] == [] and language["customers"][0]["locale"] == "sv"


async def test_the_unified_portal_changes_one_business_or_all_of_them() -> None:
    acme, globex = await customer_at("Acme"), await customer_at("Globex")
    session = await unified_token("ada@example.com")

    neither = await update(session, name="Ada King")
    both = await update(session, businessId=acme.business_id, applyToAllBusinesses=True, name="Ada King")
    one = await update(session, businessId=globex.business_id, name="Ada at Globex")
    everywhere = await update(session, applyToAllBusinesses=True, phoneNumber="+44 20 7946 0958")

    assert [(error["code"], error["field"]) for error in neither["errors"]] == [("INVALID_INPUT", "businessId")]
    assert [error["field"] for error in both["errors"]] == ["applyToAllBusinesses"]
    assert [customer["id"] for customer in one["customers"]] == [globex.id]
    assert {customer["id"] for customer in everywhere["customers"]} == {acme.id, globex.id}
    assert [(row.name, row.phone_number) for row in await Customer.all().order_by("created_at")] == [
        ("Ada", "+442079460958"),
        ("Ada at Globex", "+442079460958"),
    ]


async def test_applying_to_all_is_all_or_nothing() -> None:
    acme, globex = await customer_at("Acme", billing_country="DE"), await customer_at("Globex", billing_country="US")
    await allow_only(globex, "name", "phone")
    session = await unified_token("ada@example.com")
    before = [await snapshot(acme), await snapshot(globex)]

    refused = await update(session, applyToAllBusinesses=True, name="Ada King", taxId="DE136695976")
    invalid_somewhere = await update(session, applyToAllBusinesses=True, name="Ada King", phoneNumber="030 1234567")

    assert [(error["code"], error["field"]) for error in refused["errors"]] == [("NOT_ALLOWED", "taxId")]
    assert "Globex" in refused["errors"][0]["message"]
    # A national number is read in each record's own country: fine in Germany, not in the United States.
    assert [(error["code"], error["field"]) for error in invalid_somewhere["errors"]] == [
        ("INVALID_INPUT", "phoneNumber")
    ]
    assert [await snapshot(acme), await snapshot(globex)] == before


async def test_the_unified_portal_changes_the_businesses_chosen_all_or_nothing() -> None:
    acme, globex = await customer_at("Acme", billing_country="DE"), await customer_at("Globex", billing_country="US")
    initech = await customer_at("Initech")
    session = await unified_token("ada@example.com")

    chosen = await update(session, businessIds=[acme.business_id, initech.business_id], name="Ada King")
    none_chosen = await update(session, businessIds=[], name="Nobody")
    invalid_somewhere = await update(
        session, businessIds=[acme.business_id, globex.business_id], phoneNumber="030 1234567"
    )

    assert {customer["id"] for customer in chosen["customers"]} == {acme.id, initech.id}
    assert [(error["code"], error["field"], error["message"]) for error in none_chosen["errors"]] == [
        ("INVALID_INPUT", "businessIds", "Choose at least one business.")
    ]
    assert [(error["code"], error["field"]) for error in invalid_somewhere["errors"]] == [
        ("INVALID_INPUT", "phoneNumber")
    ]
    assert [(row.name, row.phone_number) for row in await Customer.all().order_by("created_at")] == [
        ("Ada King", ""),
        ("Ada", ""),
        ("Ada King", ""),
    ]


async def test_a_change_stamps_the_record_as_updated() -> None:
    acme = await customer_at("Acme")
    created = (await Customer.get(id=acme.id)).updated_at

    await update(await business_token(acme), name="Ada King")

    assert created is not None and (await Customer.get(id=acme.id)).updated_at > created


FOREIGN_OR_MISSING = ["<foreign>", "bus_doesnotexist0000000000", "", "bus_" + "a" * 40, "bus_é", "cus_x", "\x00"]


@pytest.mark.parametrize("business_id", FOREIGN_OR_MISSING)
async def test_a_business_outside_the_scope_answers_like_a_missing_one(business_id: str) -> None:
    ada = await customer_at("Acme")
    stranger = await customer_at("Globex", email="grace@example.com")
    business_id = stranger.business_id if business_id == "<foreign>" else business_id
    before = await snapshot(stranger)

    unified = await update(await unified_token("ada@example.com"), businessId=business_id, name="Mallory")
    scoped = await update(await business_token(ada), businessId=business_id, name="Mallory")

    expected = {
        "customers": [],
        "errors": [{"code": "NOT_FOUND", "field": "businessId", "message": "There is nothing with that id here."}],
    }
    assert unified == expected and scoped == expected
    assert await snapshot(stranger) == before
    assert (await Customer.get(id=ada.id)).name == "Ada"


@pytest.mark.parametrize("business_id", FOREIGN_OR_MISSING)
async def test_a_business_outside_the_scope_among_those_chosen_changes_nothing(business_id: str) -> None:
    ada = await customer_at("Acme")
    stranger = await customer_at("Globex", email="grace@example.com")
    business_id = stranger.business_id if business_id == "<foreign>" else business_id
    before = await snapshot(stranger)

    answer = await update(
        await unified_token("ada@example.com"), businessIds=[ada.business_id, business_id], name="Mallory"
    )

    assert answer == {
        "customers": [],
        "errors": [{"code": "NOT_FOUND", "field": "businessIds", "message": "There is nothing with that id here."}],
    }
    assert await snapshot(stranger) == before
    assert (await Customer.get(id=ada.id)).name == "Ada"


async def test_a_business_session_cannot_reach_its_emails_other_records() -> None:
    acme, globex = await customer_at("Acme"), await customer_at("Globex")
    answer = await update(await business_token(acme), businessId=globex.business_id, name="Mallory")
    assert [error["code"] for error in answer["errors"]] == ["NOT_FOUND"]
    assert (await Customer.get(id=globex.id)).name == "Ada"


async def test_issued_invoices_keep_their_snapshot() -> None:
    shop = await create_shop("Acme Tools")
    invoice = await Invoice.get(customer_id=shop.customer.id)
    snapshot_before = invoice.billing_details
    await update(await business_token(shop.customer), name="Ada King", billingAddress={"country": "SE"})
    assert (await Invoice.get(id=invoice.id)).billing_details == snapshot_before


# --- The /profile page ------------------------------------------------------------------------------------------------


async def signed_in(http: httpx.AsyncClient, token: str) -> None:
    http.cookies.set("portal_session", token)


async def save(http: httpx.AsyncClient, *business_ids: str, **fields: str) -> httpx.Response:
    """Post the details form for the businesses given (the unified form's "Apply to", the business form's own)."""
    page = await http.get("/profile")
    return await http.post("/profile", data={"csrf_token": csrf_from(page), "apply_to": list(business_ids), **fields})


async def test_the_profile_page_shows_the_record_and_links_from_the_portal(client) -> None:
    customer = await customer_at("Acme", billing_country="SE", phone_number="+46701234567", tax_id="SE556036079301")
    await signed_in(client, await business_token(customer))

    home = await client.get("/")
    page = await client.get("/profile?locale=sv")

    assert 'href="/profile"' in home.text
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    # The phone as people write it across borders; saved again, it reads back the same.
    assert 'value="+46 70 123 45 67"' in page.text and 'value="SE556036079301"' in page.text
    assert '<option value="SE" selected>Sverige</option>' in page.text
    # Swedish sorts Å and Ö after Z.
    names = re.findall(r'<option value="[A-Z]{2}"(?: selected)?>([^<]+)</option>', page.text)
    assert names.index("Zimbabwe") < names.index("Åland") < names.index("Österrike")
    assert names.index("Albanien") < names.index("Tyskland")
    assert 'href="/profile/export"' in page.text
    assert 'type="checkbox"' not in page.text


@pytest.mark.parametrize(("locale", "sweden"), [("zh-Hans", "瑞典"), ("zh-Hant", "瑞典"), ("pt-BR", "Suécia")])
async def test_the_profile_page_names_countries_in_languages_tagged_with_a_script_or_region(
    client, locale: str, sweden: str
) -> None:
    customer = await customer_at("Acme", billing_country="SE")
    await signed_in(client, await business_token(customer))

    page = await client.get(f"/profile?locale={locale}")

    assert page.status_code == 200
    assert f'<option value="SE" selected>{sweden}</option>' in page.text


async def test_a_refused_save_shows_the_error_beside_the_field_and_keeps_what_was_typed(client) -> None:
    customer = await customer_at("Acme", billing_country="DE")
    await signed_in(client, await business_token(customer))
    before = await snapshot(customer)

    answer = await save(client, customer.business_id, name="Ada King", phone_number="12", country="DE", tax_id="")

    message = "Enter a valid phone number. A number outside your billing country starts with + and its country code."
    assert answer.status_code == 422
    assert FIELD_ERROR.findall(answer.text) == [("details-phone_number", message)]
    assert_summarised(answer.text, [("details-phone_number", message)])
    assert 'value="Ada King"' in answer.text and 'value="12"' in answer.text
    assert await snapshot(customer) == before


def assert_summarised(page: str, links: list[tuple[str, str]]) -> None:
    """The error summary opens the details form, takes the focus and links to each refused input, which is marked
    invalid and described by its message."""
    form = page[page.index('<form class="form-stack" id="details"') :]
    assert re.match(
        r'<form[^>]*>\s*<div class="error-summary" id="details-errors" role="alert" tabindex="-1"'
        r' aria-labelledby="details-errors-title" autofocus>\s*<h2 id="details-errors-title">'
        r"Nothing was changed. Check the marked fields.</h2>",
        form,
    )
    assert SUMMARY_LINK.findall(form) == links
    for anchor, _ in links:
        marked = re.search(rf'<input id="{anchor}"[^>]*>', form)
        assert marked and 'aria-invalid="true"' in marked[0], anchor
        assert re.search(rf'aria-describedby="[^"]*{anchor.removeprefix("details-")}-error', marked[0]), anchor


async def test_a_save_sends_what_changed_and_says_it_applies_to_future_invoices(client) -> None:
    customer = await customer_at("Acme", billing_country="DE", tax_id="kept as it was")
    await signed_in(client, await business_token(customer))

    saved = await save(
        client,
        customer.business_id,
        name="Ada King",
        phone_number="030 1234567",
        line1="Unter den Linden 1",
        line2="",
        city="Berlin",
        state="",
        postal_code="10117",
        country="DE",
        tax_id="kept as it was",
        locale="ja",
    )
    page = await client.get(saved.headers["location"])

    assert saved.status_code == 303 and saved.headers["location"] == "/profile?updated=profile"
    row = await Customer.get(id=customer.id)
    assert (row.name, row.phone_number, row.billing_city, row.locale) == ("Ada King", "+49301234567", "Berlin", "ja")
    # An unchanged invalid value was not sent, so it did not stand in the way.
    assert row.tax_id == "kept as it was"
    assert "Future invoices will show them." in page.text
    assert "Changes apply to future invoices." in page.text


async def test_fields_the_business_keeps_are_disabled_on_the_page(client) -> None:
    customer = await customer_at("Acme")
    await allow_only(customer, "name")
    await signed_in(client, await business_token(customer))

    page = await client.get("/profile")

    assert re.search(r'name="phone_number" type="tel" value=""[^>]* disabled', page.text)
    assert re.search(r'name="name" type="text" value="Ada" autocomplete="name" dir="auto">', page.text)
    assert "Contact Acme to change this." in page.text
    assert "Your email address cannot be changed here, because these businesses do not allow it: Acme." in page.text


async def test_the_unified_page_has_one_form_from_the_newest_record_for_every_business(client) -> None:
    acme = await customer_at("Acme", phone_number="+46701234567")
    globex = await customer_at("Globex")
    # Acme's record changed last, so the form starts from it.
    acme.name = "Ada Lovelace"
    await acme.save(update_fields=["name"])
    await signed_in(client, await unified_token("ada@example.com"))

    page = await client.get("/profile")

    assert page.text.count('<form class="form-stack" id="details"') == 1
    assert page.text.count('name="name"') == 1
    assert 'value="Ada Lovelace"' in page.text and 'value="+46 70 123 45 67"' in page.text
    assert "Your businesses have different details on record. The form shows the latest, from Acme." in page.text
    assert "<legend>Apply to</legend>" in page.text
    for business_id in (acme.business_id, globex.business_id):
        assert re.search(
            rf'<input type="checkbox" id="apply_to-{business_id}" [^>]*value="{business_id}" checked>', page.text
        )


async def test_the_unified_page_applies_the_form_to_the_businesses_ticked(client) -> None:
    acme = await customer_at("Acme", billing_country="DE", tax_id="DE136695976")
    globex = await customer_at("Globex", billing_country="SE", tax_id="")
    initech = await customer_at("Initech", billing_city="Oslo")
    await signed_in(client, await unified_token("ada@example.com"))
    initech_before = await snapshot(initech)

    page = await client.get("/profile")
    form = {"name": "Ada King", "phone_number": "", "country": "DE", "tax_id": "DE136695976", "locale": ""}
    form |= {"line1": "", "line2": "", "city": "", "state": "", "postal_code": ""}
    saved = await save(client, acme.business_id, globex.business_id, **form)

    assert "different details on record" in page.text
    assert saved.status_code == 303 and saved.headers["location"] == "/profile?updated=profile"
    # The form's details, tax ID and country included, are now those of both businesses ticked.
    for customer in (acme, globex):
        row = await Customer.get(id=customer.id)
        assert (row.name, row.billing_country, row.tax_id) == ("Ada King", "DE", "DE136695976")
    assert await snapshot(initech) == initech_before


async def test_an_invalid_phone_on_the_unified_page_changes_no_record_and_links_to_the_field(client) -> None:
    acme, globex = await customer_at("Acme", billing_country="US"), await customer_at("Globex", billing_country="US")
    await signed_in(client, await unified_token("ada@example.com"))
    before = [await snapshot(acme), await snapshot(globex)]

    answer = await save(client, globex.business_id, name="Ada King", phone_number="12", country="US")

    message = "Enter a valid phone number. A number outside your billing country starts with + and its country code."
    assert answer.status_code == 422
    assert_summarised(answer.text, [("details-phone_number", message)])
    assert 'value="Ada King"' in answer.text and 'value="12"' in answer.text
    # The choice is kept: Globex still ticked, Acme not.
    assert re.search(rf'id="apply_to-{globex.business_id}" [^>]*checked>', answer.text)
    assert not re.search(rf'id="apply_to-{acme.business_id}" [^>]*checked>', answer.text)
    assert [await snapshot(acme), await snapshot(globex)] == before


async def test_the_unified_page_asks_for_at_least_one_business(client) -> None:
    acme, globex = await customer_at("Acme"), await customer_at("Globex")
    await signed_in(client, await unified_token("ada@example.com"))

    answer = await save(client, name="Ada King")

    assert answer.status_code == 422
    first = re.search(r'<input type="checkbox" id="(apply_to-[^"]+)"', answer.text)[1]
    assert SUMMARY_LINK.findall(answer.text) == [(first, "Choose at least one business.")]
    assert 'aria-describedby="details-apply-to-error"' in answer.text
    assert {row.name for row in await Customer.filter(id__in=[acme.id, globex.id])} == {"Ada"}


async def test_a_field_some_businesses_keep_names_them_and_is_refused_for_them(client) -> None:
    acme, globex = await customer_at("Acme"), await customer_at("Globex")
    await allow_only(globex, "name")
    await signed_in(client, await unified_token("ada@example.com"))

    page = await client.get("/profile")
    refused = await save(client, acme.business_id, globex.business_id, name="Ada King", tax_id="12-3456789")
    only_acme = await save(client, acme.business_id, name="Ada King", tax_id="12-3456789")

    # Acme lets the customer change the tax ID, so the field stays open, saying who keeps it.
    assert re.search(
        r'<input id="details-tax_id" name="tax_id"[^>]*aria-describedby="details-tax_id-locked">', page.text
    )
    assert '<p class="hint" id="details-tax_id-locked">Contact Globex to change this.</p>' in page.text
    assert refused.status_code == 422
    assert SUMMARY_LINK.findall(refused.text) == [
        ("details-tax_id", "Globex does not let you change this here. Contact them instead.")
    ]
    assert only_acme.status_code == 303
    assert [(row.name, row.tax_id) for row in await Customer.all().order_by("created_at")] == [
        ("Ada King", "12-3456789"),
        ("Ada", ""),
    ]


@pytest.mark.parametrize("business_id", ["<foreign>", "bus_doesnotexist0000000000", "cus_x"])
async def test_the_page_refuses_a_business_outside_the_scope_and_a_form_without_its_token(
    client, business_id: str
) -> None:
    ada = await customer_at("Acme")
    stranger = await customer_at("Globex", email="grace@example.com")
    business_id = stranger.business_id if business_id == "<foreign>" else business_id
    await signed_in(client, await unified_token("ada@example.com"))

    foreign = await save(client, business_id, name="Mallory")
    mixed = await save(client, ada.business_id, business_id, name="Mallory")
    forged = await client.post("/profile", data={"apply_to": ada.business_id, "name": "Mallory"})

    assert foreign.status_code == mixed.status_code == 404 and forged.status_code == 403
    assert {row.name for row in await Customer.all()} == {"Ada"}


async def test_the_profile_asks_a_visitor_to_sign_in(client) -> None:
    answer = await client.get("/profile")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
