"""License keys a customer manages: the rules of activation (a disabled or expired key never activates, a name is
required and bounded), the deactivateLicenseKeyInstance mutation through the Viewer (a foreign, missing, malformed
or empty instance id answers identically and changes nothing), and the key's page with its devices, the copy
button and the Deactivate form (CSRF; a foreign key's page is the missing one's 404)."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from billing.billing_run import run_billing
from billing.license_activation import LicenseError, LicenseErrorCode, activate
from models import Customer, LicenseKey, LicenseKeyInstance
from models.enums import LicenseKeyStatus
from tests.support.billing import billing_context
from tests.support.customer_graphql import run
from tests.support.factories import business_token, unified_token
from tests.support.licenses import device_names, key_of, licensed
from tests.support.pages import alert, confirm, sign_in, without_noise
from tests.support.portal import csrf_from

# The billing pages' fixtures: the app with its BillingContext, and a sign-in.

DEACTIVATE = """
mutation Deactivate($id: ID!) {
  deactivateLicenseKeyInstance(input: {instanceId: $id}) {
    licenseKey { id instancesCount instances { id name } } errors { code field message }
  }
}
"""
NOW = datetime.now(UTC)
BUTTON = re.compile(r'<button[^>]*aria-labelledby="(deactivate-\S+) (instance-\S+)"[^>]*>\s*Deactivate\s*</button>')


# --- Activation rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"status": LicenseKeyStatus.DISABLED}, LicenseErrorCode.DISABLED),
        ({"status": LicenseKeyStatus.EXPIRED}, LicenseErrorCode.EXPIRED),
        ({"expires_at": NOW - timedelta(seconds=1)}, LicenseErrorCode.EXPIRED),
        ({"status": LicenseKeyStatus.DISABLED, "activations_limit": None}, LicenseErrorCode.DISABLED),
    ],
)
async def test_a_disabled_or_expired_key_never_activates(fields: dict, code: LicenseErrorCode) -> None:
    shop = await licensed(**fields)

    with pytest.raises(LicenseError) as refused:
        await activate(shop.key.key, "Laptop", livemode=True)

    assert refused.value.code == code
    assert await device_names(shop.key) == []


async def test_a_key_activates_until_its_expiry_and_its_limit() -> None:
    shop = await licensed(expires_at=NOW + timedelta(days=1), activations_limit=2)

    first = await activate(shop.key.key, "  Laptop  ", livemode=True, now=NOW)
    await activate(shop.key.key, "Desktop", livemode=True, now=NOW)
    with pytest.raises(LicenseError) as full:
        await activate(shop.key.key, "Tablet", livemode=True, now=NOW)
    with pytest.raises(LicenseError) as expired:
        await activate(shop.key.key, "Tablet", livemode=True, now=NOW + timedelta(days=1))

    assert first.instance.name == "Laptop" and first.license_key.id == shop.key.id
    assert (full.value.code, expired.value.code) == (LicenseErrorCode.LIMIT_REACHED, LicenseErrorCode.EXPIRED)
    assert await device_names(shop.key) == ["Desktop", "Laptop"]


async def test_the_billing_run_marks_keys_past_their_expiry_as_expired() -> None:
    shop = await licensed("SAKURA-PAST", expires_at=NOW - timedelta(minutes=1))
    later = await key_of(shop.customer, shop.product, "SAKURA-LATER", expires_at=NOW + timedelta(days=1))
    refunded = await key_of(
        shop.customer, shop.product, "SAKURA-GONE", status=LicenseKeyStatus.DISABLED, expires_at=NOW
    )
    forever = await key_of(shop.customer, shop.product, "SAKURA-FOREVER")

    report = await run_billing(billing_context(), now=NOW)

    statuses = {row.key: row.status for row in await LicenseKey.filter(customer=shop.customer)}
    assert statuses == {
        shop.key.key: LicenseKeyStatus.EXPIRED,
        later.key: LicenseKeyStatus.ACTIVE,
        refunded.key: LicenseKeyStatus.EXPIRED,
        forever.key: LicenseKeyStatus.ACTIVE,
    }
    assert report.license_keys_expired == 2


async def test_a_key_without_a_limit_activates_on_any_number_of_devices() -> None:
    shop = await licensed(activations_limit=None, devices=tuple(f"Device {n}" for n in range(10)))

    await activate(shop.key.key, "One more", livemode=True)

    assert len(await device_names(shop.key)) == 11


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_a_device_needs_a_name_of_at_most_200_characters(name: str) -> None:
    shop = await licensed()

    with pytest.raises(LicenseError) as refused:
        await activate(shop.key.key, name, livemode=True)

    assert (refused.value.code, refused.value.field) == (LicenseErrorCode.INVALID_NAME, "name")
    assert await device_names(shop.key) == []
    assert (await activate(shop.key.key, "x" * 200, livemode=True)).instance.name == "x" * 200


# --- The mutation ----------------------------------------------------------------------------------------------------


async def test_the_customer_deactivates_a_device_of_their_key() -> None:
    shop = await licensed(devices=("Laptop", "Desktop"))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id, name="Laptop")

    answer = (await run(await business_token(shop.customer), DEACTIVATE, id=laptop.id))["deactivateLicenseKeyInstance"]

    assert answer["errors"] == []
    assert answer["licenseKey"]["id"] == shop.key.id and answer["licenseKey"]["instancesCount"] == 1
    assert [instance["name"] for instance in answer["licenseKey"]["instances"]] == ["Desktop"]
    assert await device_names(shop.key) == ["Desktop"]


async def test_the_unified_portal_deactivates_devices_at_every_business() -> None:
    sakura = await licensed(devices=("Laptop",))
    northwind = await licensed("NORTHWIND-0001", business_name="Northwind", devices=("Server",))
    server = await LicenseKeyInstance.get(license_key_id=northwind.key.id)

    answer = await run(await unified_token("ada@example.com"), DEACTIVATE, id=server.id)

    assert answer["deactivateLicenseKeyInstance"]["licenseKey"]["instancesCount"] == 0
    assert (await device_names(northwind.key), await device_names(sakura.key)) == ([], ["Laptop"])


async def test_instances_outside_the_scope_answer_exactly_like_missing_ones() -> None:
    mine = await licensed(devices=("Laptop",))
    # Another customer's key at the same business, and a key of the same email in test mode.
    eve = await Customer.create(business=mine.business, livemode=True, email="eve@example.com", email_verified=True)
    theirs = await key_of(eve, mine.product, "EVE-0001", ("Eve's laptop",))
    their_device = await LicenseKeyInstance.get(license_key_id=theirs.id)
    test_mode = await licensed("SAKURA-TEST-0001", business_name="Sakura Test", livemode=False, devices=("Sandbox",))
    test_device = await LicenseKeyInstance.get(license_key_id=test_mode.key.id)
    session = await unified_token("ada@example.com")
    before = await LicenseKeyInstance.all().order_by("id").values_list("id", "name", "license_key_id")

    asked = (their_device.id, test_device.id, "lki_missing", "lki_" + "x" * 60, "lki_<script>", "", mine.key.id)
    answers = [await run(session, DEACTIVATE, id=instance_id) for instance_id in asked]

    assert all(answer == answers[0] for answer in answers)
    payload = answers[0]["deactivateLicenseKeyInstance"]
    assert payload["licenseKey"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [("NOT_FOUND", "instanceId")]
    assert await LicenseKeyInstance.all().order_by("id").values_list("id", "name", "license_key_id") == before


# --- The page --------------------------------------------------------------------------------------------------------


async def test_the_key_page_shows_the_key_its_facts_and_its_devices(http) -> None:
    shop = await licensed(devices=("Ada's laptop", "Studio desktop"), expires_at=datetime(2031, 3, 5, 12, tzinfo=UTC))
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/license-keys/{shop.key.id}")

    assert page.status_code == 200 and page.text.count("<h1>") == 1
    assert "Library Studio" in page.text and "Sakura Fonts" in page.text
    assert '<code class="license-key" id="license-key">SAKURA-0001</code>' in page.text
    assert "Active" in page.text and "March 5, 2031" in page.text and "2 of 3" in page.text
    assert "Ada&#39;s laptop" in page.text and "Studio desktop" in page.text
    # Headings in order; every Deactivate button is named after its device.
    assert re.findall(r"<h(\d)", page.text) == ["1", "2", "2"]
    buttons = BUTTON.findall(page.text)
    instances = await LicenseKeyInstance.filter(license_key_id=shop.key.id).values_list("id", flat=True)
    assert sorted(buttons) == sorted((f"deactivate-{i}", f"instance-{i}") for i in instances)
    assert all(f'id="instance-{i}"' in page.text and f'id="deactivate-{i}"' in page.text for i in instances)
    # The copy button is the script's to show; the page has no inline script.
    assert re.search(r'<button[^>]*type="button" hidden data-copy-target="license-key"', page.text)
    nonce = re.search(r'<style nonce="([^"]+)"', page.text)[1]
    assert f'<script src="/static/copy.js" nonce="{nonce}" defer></script>' in page.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    assert (await http.get("/static/copy.js")).status_code == 200


async def test_the_home_pages_link_each_key_to_its_page(http) -> None:
    shop = await licensed()
    await sign_in(http, await business_token(shop.customer))
    business_home = await http.get("/")
    await sign_in(http, await unified_token("ada@example.com"))
    unified_home = await http.get("/")

    for home in (business_home, unified_home):
        assert f'href="/license-keys/{shop.key.id}"' in home.text


async def test_a_key_without_limit_expiry_or_devices(http) -> None:
    shop = await licensed(activations_limit=None)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/license-keys/{shop.key.id}")

    assert "0 (no limit)" in page.text and "No expiry" in page.text
    assert "This key is not activated on any device yet." in page.text and not BUTTON.search(page.text)


async def test_a_disabled_key_says_who_disabled_it_and_offers_no_copy(http) -> None:
    shop = await licensed(status=LicenseKeyStatus.DISABLED)
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/license-keys/{shop.key.id}")
    business_home = await http.get("/")
    await sign_in(http, await unified_token("ada@example.com"))
    unified_home = await http.get("/")

    assert "Disabled by <bdi>Sakura Fonts</bdi>" in page.text
    assert "data-copy-target" not in page.text and "Copy key" not in page.text
    # The key stays readable: the customer may need it to talk to the business.
    assert '<code class="license-key" id="license-key">SAKURA-0001</code>' in page.text
    for home in (business_home, unified_home):
        assert "Disabled by <bdi>Sakura Fonts</bdi>" in home.text


async def test_an_expired_key_says_when_it_expired(http) -> None:
    shop = await licensed(status=LicenseKeyStatus.EXPIRED, expires_at=datetime(2025, 3, 5, 12, tzinfo=UTC))
    await sign_in(http, await business_token(shop.customer))

    page = await http.get(f"/license-keys/{shop.key.id}")
    home = await http.get("/")

    assert "Expired on March 5, 2025" in page.text and "data-copy-target" in page.text
    assert "Expired on March 5, 2025" in home.text and "Valid until" not in home.text
    assert "Disabled by" not in page.text + home.text


async def test_an_active_key_gives_no_reason(http) -> None:
    shop = await licensed(expires_at=datetime(2031, 3, 5, 12, tzinfo=UTC))
    await sign_in(http, await business_token(shop.customer))

    home = await http.get("/")

    assert "Valid until March 5, 2031" in home.text
    assert "Expired on" not in home.text and "Disabled by" not in home.text


async def test_deactivating_from_the_page_frees_the_device_and_says_so(http) -> None:
    shop = await licensed(devices=("Laptop", "Desktop"))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id, name="Laptop")
    path = f"/license-keys/{shop.key.id}"
    await sign_in(http, await business_token(shop.customer))

    _, answer = await confirm(http, f"{path}/deactivate?instance_id={laptop.id}")
    after = await http.get(answer.headers["location"])

    assert (answer.status_code, answer.headers["location"]) == (303, f"{path}?updated=instance_deactivated")
    assert "The device was deactivated." in after.text and "1 of 3" in after.text
    assert "Laptop" not in after.text and "Desktop" in after.text
    assert await device_names(shop.key) == ["Desktop"]


async def test_a_deactivation_without_the_csrf_token_changes_nothing(http) -> None:
    shop = await licensed(devices=("Laptop",))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id)
    await sign_in(http, await business_token(shop.customer))
    await http.get(f"/license-keys/{shop.key.id}")

    forged = await http.post(f"/license-keys/{shop.key.id}/deactivate", data={"instance_id": laptop.id})
    wrong = await http.post(
        f"/license-keys/{shop.key.id}/deactivate", data={"instance_id": laptop.id, "csrf_token": "0" * 64}
    )

    assert (forged.status_code, wrong.status_code) == (403, 403)
    assert await device_names(shop.key) == ["Laptop"]


async def test_a_device_already_gone_is_refused_on_the_key_page(http) -> None:
    shop = await licensed(devices=("Laptop",))
    path = f"/license-keys/{shop.key.id}"
    await sign_in(http, await business_token(shop.customer))
    page = await http.get(path)

    # Gone between the confirmation and its button (deactivated in another tab).
    confirmed = {"csrf_token": csrf_from(page), "instance_id": "lki_gone", "confirmed": "deactivate_device"}
    answer = await http.post(f"{path}/deactivate", data=confirmed)
    back = await http.get(f"{path}/deactivate?locale=sv")

    assert answer.status_code == 422 and alert(answer) == "There is nothing with that id here."
    assert "Laptop" in answer.text
    assert (back.status_code, back.headers["location"]) == (303, f"{path}?locale=sv")


async def test_a_foreign_key_page_is_the_missing_one(http) -> None:
    mine = await licensed(devices=("Laptop",))
    theirs = await licensed("NORTHWIND-0001", business_name="Northwind", email="eve@example.com", devices=("Server",))
    their_device = await LicenseKeyInstance.get(license_key_id=theirs.key.id)
    await sign_in(http, await business_token(mine.customer))
    csrf = csrf_from(await http.get(f"/license-keys/{mine.key.id}"))

    answers = []
    for asked in (theirs.key.id, "lic_missing", "x" * 41, mine.customer.id):
        answer = await http.get(f"/license-keys/{asked}")
        answers.append((answer.status_code, without_noise(answer, asked)))
    posted = await http.post(
        f"/license-keys/{theirs.key.id}/deactivate", data={"csrf_token": csrf, "instance_id": their_device.id}
    )

    assert all(answer == answers[0] for answer in answers) and answers[0][0] == 404
    assert "NORTHWIND-0001" not in answers[0][1] and "Northwind" not in answers[0][1]
    assert posted.status_code == 404 and "Server" not in posted.text
    assert await device_names(theirs.key) == ["Server"]


async def test_signed_out_visitors_are_sent_to_sign_in(http) -> None:
    shop = await licensed()

    answer = await http.get(f"/license-keys/{shop.key.id}")

    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
