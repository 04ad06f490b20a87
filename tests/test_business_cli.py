"""`portal business create|list|update`, the first step of a real deployment: a business with its first test and live
API keys and a working portal configuration in each mode; bad values refused with nothing written."""

import re
from pathlib import Path

import pytest
from tortoise.context import TortoiseContext

from merchants.api_keys import authenticate_api_key
from merchants.businesses import BusinessChanges, BusinessInputError, create_business
from models import Business, PortalConfiguration
from models.database import tortoise_config
from tests.support.cli import portal

CREATED = re.compile(r"Created business (bus_\w+)")
KEY = re.compile(r"(test|live): (sk_(?:test|live)_\S+)")


async def rows(database_url: str, model: type) -> list:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return await model.all().order_by("id")


async def test_create_prints_the_business_and_keys_that_open_its_api(migrated_database: str, tmp_path: Path) -> None:
    answer = portal(
        "business",
        "create",
        "--name=Kumo Labs",
        "--support-email=Help@Kumo.example",
        "--primary-color=#0b3d91",
        "--tax-rate=10.25",
        "--country=JP",
        "--invoice-prefix=KL",
        database_url=migrated_database,
        cwd=tmp_path,
    )

    assert answer.returncode == 0, answer.stderr
    business_id = CREATED.search(answer.stdout)[1]
    keys = dict(KEY.findall(answer.stdout))
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        for mode, secret in keys.items():
            api_key = await authenticate_api_key(secret)
            assert (api_key.business_id, api_key.livemode) == (business_id, mode == "live")
        business = await Business.get(id=business_id)
        configurations = await PortalConfiguration.filter(business_id=business_id, is_default=True)
    assert sorted(keys) == ["live", "test"]
    assert (business.name, business.primary_color, business.tax_rate_bp, business.invoice_prefix) == (
        "Kumo Labs",
        "#0b3d91",
        1025,
        "KL",
    )
    assert sorted(configuration.livemode for configuration in configurations) == [False, True]
    assert f"/login/{business_id}" in answer.stdout


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("support_email", "not-an-email", "support email"),
        ("primary_color", "blue", "primary color"),
        ("invoice_prefix", "kl-", "invoice prefix"),
        ("tax_rate_bp", 15_000, "tax rate"),
        ("address_country", "XX", "country"),
        ("logo_url", "http://kumo.example/logo.png", "logo url"),
        ("name", " ", "name"),
        ("name", "Kumo\nLabs", "name must not contain line breaks or control characters"),
        ("name", "Kumo\x00Labs", "name must not contain line breaks or control characters"),
        ("support_email", "help@kumo.example\x00", "support email"),
        ("headline", "x" * 301, "headline"),
    ],
)
async def test_a_bad_value_is_refused_and_nothing_is_created(field: str, value: object, complaint: str) -> None:
    changes = {"name": "Kumo Labs", "support_email": "help@kumo.example", field: value}

    with pytest.raises(BusinessInputError, match=complaint):
        await create_business(BusinessChanges(**changes))

    assert await Business.all().count() == 0


async def test_the_command_says_what_is_wrong_without_a_traceback(migrated_database: str, tmp_path: Path) -> None:
    answer = portal(
        "business", "create", "--name", "Kumo", "--support-email", "nope", database_url=migrated_database, cwd=tmp_path
    )

    assert answer.returncode == 1
    assert "support email must be an email address" in answer.stderr and "Traceback" not in answer.stderr
    assert await rows(migrated_database, Business) == []


def create_kumo(database_url: str, cwd: Path) -> str:
    """Kumo, made with `portal business create`; its id."""
    created = portal(
        "business", "create", "--name", "Kumo", "--support-email", "a@kumo.example", database_url=database_url, cwd=cwd
    )
    return CREATED.search(created.stdout)[1]


async def test_list_and_update_a_business(migrated_database: str, tmp_path: Path) -> None:
    business_id = create_kumo(migrated_database, tmp_path)

    renamed = portal(
        "business",
        "update",
        business_id,
        "--name=Kumo Labs",
        "--accent-color=#f59e0b",
        "--allow-plan-changes",
        database_url=migrated_database,
        cwd=tmp_path,
    )
    refused = portal(
        "business", "update", business_id, "--accent-color", "orange", database_url=migrated_database, cwd=tmp_path
    )
    unknown = portal("business", "update", "bus_nope", "--name", "X", database_url=migrated_database, cwd=tmp_path)
    listing = portal("business", "list", database_url=migrated_database, cwd=tmp_path)

    assert renamed.returncode == 0, renamed.stderr
    assert refused.returncode == 1 and "accent color" in refused.stderr
    assert unknown.returncode == 1 and "no business bus_nope" in unknown.stderr
    assert listing.stdout.split() == [business_id, "Kumo", "Labs", "a@kumo.example"]
    [business] = await rows(migrated_database, Business)
    assert (business.accent_color, business.allow_subscription_updates) == ("#f59e0b", True)


async def test_the_command_refuses_a_name_with_a_line_break_and_changes_nothing(
    migrated_database: str, tmp_path: Path
) -> None:
    business_id = create_kumo(migrated_database, tmp_path)

    renamed = portal(
        "business", "update", business_id, "--name", "Kumo\nLabs", database_url=migrated_database, cwd=tmp_path
    )

    assert renamed.returncode == 1
    assert "name must not contain line breaks or control characters" in renamed.stderr
    assert "Traceback" not in renamed.stderr
    assert [business.name for business in await rows(migrated_database, Business)] == ["Kumo"]
