"""The public license API through the ASGI app, as the software a key unlocks calls it: activate, deactivate and
validate with Dodo Payments' shapes and every status code; live and test keys apart; bodies that are not what the
API takes change nothing; the activation limit under 20 concurrent activations; the rate limits."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from access import rate_limits
from gateway.app import create_app
from gateway.rest import license_keys as license_api
from gateway.settings import Settings
from models import LicenseKeyInstance
from models.enums import LicenseKeyStatus
from tests.support.licenses import device_names, key_of, licensed

ACTIVATE, DEACTIVATE, VALIDATE = "/licenses/activate", "/licenses/deactivate", "/licenses/validate"
# Three seconds into a 10-second window of the license rate limits.
WINDOW_START = datetime(2031, 3, 5, 12, 0, 0, tzinfo=UTC)


def api_client(settings: Settings, address: str = "203.0.113.7") -> httpx.AsyncClient:
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(settings) as client:
        yield client


def error_of(answer: httpx.Response) -> tuple[int, str, str | None]:
    body = answer.json()
    return answer.status_code, body["code"], body["field"]


# --- Activate --------------------------------------------------------------------------------------------------------


async def test_activating_answers_201_with_the_instance_in_dodos_shape(api) -> None:
    shop = await licensed()

    answer = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "  Ada's laptop "})

    assert answer.status_code == 201
    body = answer.json()
    (instance,) = await LicenseKeyInstance.filter(license_key_id=shop.key.id)
    assert body == {
        "id": instance.id,
        "business_id": shop.business.id,
        "license_key_id": shop.key.id,
        "name": "Ada's laptop",
        "created_at": instance.created_at.isoformat(),
        "product": {"product_id": shop.product.id, "name": "Library Studio"},
    }
    # Whoever holds the key learns nothing about whom it was sold to.
    assert shop.customer.id not in answer.text and "ada@example.com" not in answer.text


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"status": LicenseKeyStatus.DISABLED}, "LICENSE_KEY_DISABLED"),
        ({"status": LicenseKeyStatus.EXPIRED}, "LICENSE_KEY_EXPIRED"),
        ({"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, "LICENSE_KEY_EXPIRED"),
    ],
)
async def test_a_disabled_or_expired_key_is_refused_with_403(api, fields: dict, code: str) -> None:
    shop = await licensed(**fields)

    answer = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Laptop"})

    assert error_of(answer) == (403, code, "license_key")
    assert await device_names(shop.key) == []


@pytest.mark.parametrize("key", ["SAKURA-0002", "", "S" * 65, "sakura-0001"])
async def test_an_unknown_key_is_404(api, key: str) -> None:
    await licensed()

    answer = await api.post(ACTIVATE, json={"license_key": key, "name": "Laptop"})

    assert error_of(answer) == (404, "NOT_FOUND", "license_key")
    assert answer.json()["message"] == "There is no license key with this value."
    assert await LicenseKeyInstance.all().count() == 0


async def test_the_activation_limit_is_422(api) -> None:
    shop = await licensed(activations_limit=2, devices=("Laptop", "Desktop"))

    answer = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Tablet"})

    assert error_of(answer) == (422, "ACTIVATION_LIMIT_REACHED", "license_key")
    assert await device_names(shop.key) == ["Desktop", "Laptop"]


@pytest.mark.parametrize(("name", "message"), [(" ", "Give the instance a name."), ("x" * 201, "Use at most 200")])
async def test_a_name_empty_or_too_long_is_422(api, name: str, message: str) -> None:
    shop = await licensed()

    answer = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": name})

    assert error_of(answer) == (422, "INVALID_NAME", "name") and answer.json()["message"].startswith(message)
    assert await device_names(shop.key) == []


BAD_BODIES = {
    "not JSON": (b"license_key=SAKURA-0001&name=Laptop", None),
    "not UTF-8": (b'{"license_key": "SAKURA-0001", "name": "\xff"}', None),
    "an array": (b'["SAKURA-0001", "Laptop"]', None),
    "nested too deep": (b"[" * 100_000 + b"]" * 100_000, None),
    "empty": (b"", None),
    "a number as key": (b'{"license_key": 1, "name": "Laptop"}', "license_key"),
    "no name": (b'{"license_key": "SAKURA-0001"}', "name"),
    "a null name": (b'{"license_key": "SAKURA-0001", "name": null}', "name"),
    "an object as name": (b'{"license_key": "SAKURA-0001", "name": {"a": 1}}', "name"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_a_body_that_is_not_the_expected_json_is_422_and_changes_nothing(api, case: str) -> None:
    shop = await licensed()
    body, field = BAD_BODIES[case]

    answer = await api.post(ACTIVATE, content=body, headers={"content-type": "application/json"})

    assert error_of(answer) == (422, "INVALID_BODY" if field is None else "INVALID_INPUT", field)
    assert answer.json()["message"]
    assert await device_names(shop.key) == []


async def test_other_fields_are_ignored_and_a_body_too_large_is_413(api, settings: Settings) -> None:
    shop = await licensed()
    padding = "x" * settings.max_body_bytes

    extra = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Laptop", "customer": "cus_x"})
    large = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Tablet", "padding": padding})

    assert extra.status_code == 201
    assert error_of(large) == (413, "PAYLOAD_TOO_LARGE", None)
    assert await device_names(shop.key) == ["Laptop"]


async def test_live_and_test_keys_answer_on_their_own_endpoints_only(api) -> None:
    live = await licensed()
    test = await licensed("SAKURA-TEST-0001", business_name="Sakura Test", livemode=False)

    live_on_test = await api.post(f"/test{ACTIVATE}", json={"license_key": "SAKURA-0001", "name": "Laptop"})
    test_on_live = await api.post(ACTIVATE, json={"license_key": "SAKURA-TEST-0001", "name": "Laptop"})
    test_on_test = await api.post(f"/test{ACTIVATE}", json={"license_key": "SAKURA-TEST-0001", "name": "Laptop"})

    assert error_of(live_on_test) == error_of(test_on_live) == (404, "NOT_FOUND", "license_key")
    assert test_on_test.status_code == 201 and test_on_test.json()["license_key_id"] == test.key.id
    assert (await device_names(live.key), await device_names(test.key)) == ([], ["Laptop"])


async def test_only_post_is_allowed(api) -> None:
    await licensed()

    assert (await api.get(f"{VALIDATE}?license_key=SAKURA-0001")).status_code == 405


# --- 20 at once against a limit of 5 ---------------------------------------------------------------------------------


async def test_twenty_concurrent_activations_against_a_limit_of_five_make_exactly_five(api) -> None:
    shop = await licensed(activations_limit=5)

    answers = await asyncio.gather(
        *(api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": f"Device {n}"}) for n in range(20))
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 5 + [422] * 15
    refused = {answer.json()["code"] for answer in answers if answer.status_code == 422}
    assert refused == {"ACTIVATION_LIMIT_REACHED"}
    assert len(await device_names(shop.key)) == 5


# --- Deactivate ------------------------------------------------------------------------------------------------------


async def test_deactivating_frees_the_instance(api) -> None:
    shop = await licensed(activations_limit=1, devices=("Laptop",))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id)

    answer = await api.post(DEACTIVATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": laptop.id})
    again = await api.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Desktop"})

    assert (answer.status_code, answer.json()) == (200, {})
    assert again.status_code == 201 and await device_names(shop.key) == ["Desktop"]


async def test_a_disabled_key_can_still_free_a_device(api) -> None:
    shop = await licensed(status=LicenseKeyStatus.DISABLED, devices=("Laptop",))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id)

    answer = await api.post(DEACTIVATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": laptop.id})

    assert answer.status_code == 200 and await device_names(shop.key) == []


async def test_an_instance_that_is_not_the_keys_is_404_and_stays(api) -> None:
    shop = await licensed(devices=("Laptop",))
    other = await key_of(shop.customer, shop.product, "SAKURA-0002", ("Server",))
    server = await LicenseKeyInstance.get(license_key_id=other.id)

    answers = [
        await api.post(DEACTIVATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": instance_id})
        for instance_id in (server.id, "lki_missing", "lki_" + "x" * 60, "", other.id)
    ]
    unknown_key = await api.post(DEACTIVATE, json={"license_key": "NOPE", "license_key_instance_id": server.id})

    assert {error_of(answer) for answer in answers} == {(404, "INSTANCE_NOT_FOUND", "license_key_instance_id")}
    assert error_of(unknown_key) == (404, "NOT_FOUND", "license_key")
    assert (await device_names(shop.key), await device_names(other)) == (["Laptop"], ["Server"])


async def test_deactivate_needs_the_instance_id_as_a_string(api) -> None:
    await licensed(devices=("Laptop",))

    answer = await api.post(DEACTIVATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": None})

    assert error_of(answer) == (422, "INVALID_INPUT", "license_key_instance_id")
    assert await LicenseKeyInstance.all().count() == 1


# --- Validate --------------------------------------------------------------------------------------------------------


async def test_validating_a_working_key_and_its_instance(api) -> None:
    expiry = datetime(2031, 3, 5, 12, tzinfo=UTC)
    shop = await licensed(devices=("Laptop",), expires_at=expiry)
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id)

    key_only = await api.post(VALIDATE, json={"license_key": "SAKURA-0001"})
    with_null = await api.post(VALIDATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": None})
    with_instance = await api.post(VALIDATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": laptop.id})

    assert key_only.status_code == with_null.status_code == with_instance.status_code == 200
    assert (
        key_only.json()
        == with_null.json()
        == with_instance.json()
        == {
            "valid": True,
            "license_key_id": shop.key.id,
            "status": "active",
            "activations_limit": 3,
            "instances_count": 1,
            "expires_at": expiry.isoformat(),
            "product": {"product_id": shop.product.id, "name": "Library Studio"},
        }
    )


async def test_an_instance_deactivated_or_of_another_key_is_not_valid(api) -> None:
    shop = await licensed(devices=("Laptop",))
    other = await key_of(shop.customer, shop.product, "SAKURA-0002", ("Server",))
    laptop = await LicenseKeyInstance.get(license_key_id=shop.key.id)
    server = await LicenseKeyInstance.get(license_key_id=other.id)
    await api.post(DEACTIVATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": laptop.id})

    answers = [
        await api.post(VALIDATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": instance_id})
        for instance_id in (laptop.id, server.id, "lki_<script>", "")
    ]

    assert [(answer.status_code, answer.json()["valid"]) for answer in answers] == [(200, False)] * 4


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": LicenseKeyStatus.DISABLED}, "disabled"),
        ({"status": LicenseKeyStatus.EXPIRED}, "expired"),
        ({"expires_at": datetime.now(UTC) - timedelta(minutes=1)}, "expired"),
    ],
)
async def test_a_disabled_or_expired_key_is_not_valid(api, fields: dict, status: str) -> None:
    await licensed(devices=("Laptop",), **fields)

    answer = await api.post(VALIDATE, json={"license_key": "SAKURA-0001"})

    assert answer.status_code == 200 and (answer.json()["valid"], answer.json()["status"]) == (False, status)


async def test_validating_an_unknown_key_or_a_bad_body(api) -> None:
    await licensed()

    unknown = await api.post(VALIDATE, json={"license_key": "SAKURA-9999"})
    numeric_instance = await api.post(VALIDATE, json={"license_key": "SAKURA-0001", "license_key_instance_id": 7})

    assert error_of(unknown) == (404, "NOT_FOUND", "license_key")
    assert error_of(numeric_instance) == (422, "INVALID_INPUT", "license_key_instance_id")


# --- Rate limits -----------------------------------------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The license API's clock stopped 3 s into a rate-limit window, so a test's calls all fall in it."""
    now = WINDOW_START + timedelta(seconds=3)
    monkeypatch.setattr(license_api, "utcnow", lambda: now)
    return now


async def test_a_key_called_too_often_is_429_with_retry_after_from_any_address(settings, frozen_clock) -> None:
    await licensed()
    limit = rate_limits.LICENSE_CALLS_PER_KEY.limit
    body = {"license_key": "SAKURA-0001"}

    async with api_client(settings, "203.0.113.7") as first, api_client(settings, "198.51.100.9") as second:
        allowed = [(await first.post(VALIDATE, json=body)).status_code for _ in range(limit)]
        refused = await second.post(VALIDATE, json=body)
        other_key = await second.post(VALIDATE, json={"license_key": "SAKURA-0002"})

    assert allowed == [200] * limit
    assert error_of(refused) == (429, "RATE_LIMITED", None) and refused.headers["retry-after"] == "7"
    assert other_key.status_code == 404


async def test_an_address_calling_too_often_is_429_before_anything_is_read(settings, frozen_clock) -> None:
    shop = await licensed()
    limit = rate_limits.LICENSE_CALLS_PER_ADDRESS.limit

    async with api_client(settings, "203.0.113.7") as busy, api_client(settings, "198.51.100.9") as calm:
        allowed = [(await busy.post(VALIDATE, json={"license_key": f"GUESS-{n}"})).status_code for n in range(limit)]
        refused = await busy.post(ACTIVATE, content=json.dumps({"license_key": "SAKURA-0001", "name": "Laptop"}))
        elsewhere = await calm.post(ACTIVATE, json={"license_key": "SAKURA-0001", "name": "Laptop"})

    assert allowed == [404] * limit
    assert refused.status_code == 429 and refused.headers["retry-after"] == "7"
    assert elsewhere.status_code == 201 and await device_names(shop.key) == ["Laptop"]
