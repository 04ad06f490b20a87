"""`portal business update ID --stripe-…` connects a business's Stripe account for the mode its keys are for and
prints the webhook address to register; the keys are stored sealed, never printed, and rotate to a new key."""

import re
from pathlib import Path

from tortoise.context import TortoiseContext

from core.secret_box import SecretBox
from merchants.stripe_accounts import stripe_credentials
from models import StripeAccount
from models.database import tortoise_config
from tests.support.cli import portal

CREATED = re.compile(r"Created business (bus_\w+)")
SECRET = "sk_test_cli0000secret"
WEBHOOK_SECRET = "whsec_cli0000signing"
DEPLOYMENT_KEY = "deployment-secret-key-for-the-cli-tests"


def command(*args: str, database_url: str, cwd: Path, **environment: str):
    return portal(*args, database_url=database_url, cwd=cwd, PORTAL_SECRET_KEY=DEPLOYMENT_KEY, **environment)


def business(database_url: str, cwd: Path) -> str:
    created = command(
        "business",
        "create",
        "--name",
        "Kumo Labs",
        "--support-email",
        "help@kumo.example",
        database_url=database_url,
        cwd=cwd,
    )
    assert created.returncode == 0, created.stderr
    return CREATED.search(created.stdout)[1]


def connecting(business_id: str, secret: str, publishable: str, database_url: str, cwd: Path):
    return command(
        "business",
        "update",
        business_id,
        "--stripe-secret-key",
        secret,
        "--stripe-publishable-key",
        publishable,
        "--stripe-webhook-secret",
        WEBHOOK_SECRET,
        database_url=database_url,
        cwd=cwd,
    )


async def accounts(database_url: str) -> list[StripeAccount]:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(database_url))
        return await StripeAccount.all()


async def test_test_keys_connect_test_mode_print_the_webhook_address_and_disconnect(
    migrated_database: str, tmp_path: Path
) -> None:
    business_id = business(migrated_database, tmp_path)

    answer = connecting(business_id, SECRET, "pk_test_cli0000public", migrated_database, tmp_path)

    assert answer.returncode == 0, answer.stderr
    assert f"http://127.0.0.1:8000/webhooks/stripe/{business_id}/test" in answer.stdout
    assert SECRET not in answer.stdout + answer.stderr and WEBHOOK_SECRET not in answer.stdout + answer.stderr
    [account] = await accounts(migrated_database)
    assert (account.business_id, account.livemode, account.publishable_key) == (
        business_id,
        False,
        "pk_test_cli0000public",
    )
    assert SECRET not in account.sealed_secret_key
    forgotten = command(
        "business", "update", business_id, "--stripe-disconnect", "test", database_url=migrated_database, cwd=tmp_path
    )
    assert forgotten.returncode == 0 and "Stripe disconnected in test mode." in forgotten.stdout
    assert await accounts(migrated_database) == []


async def test_keys_of_two_modes_are_refused_and_nothing_is_stored(migrated_database: str, tmp_path: Path) -> None:
    business_id = business(migrated_database, tmp_path)

    answer = connecting(business_id, "sk_live_cli0000secret", "pk_test_cli0000public", migrated_database, tmp_path)

    assert answer.returncode != 0
    assert "both test keys or both live keys" in answer.stderr
    assert await accounts(migrated_database) == []


async def test_resealing_moves_the_keys_to_a_new_key(migrated_database: str, tmp_path: Path) -> None:
    business_id = business(migrated_database, tmp_path)
    connecting(business_id, SECRET, "pk_test_cli0000public", migrated_database, tmp_path)

    rotated = command(
        "business",
        "reseal-keys",
        database_url=migrated_database,
        cwd=tmp_path,
        PORTAL_CREDENTIALS_KEYS=f"a-brand-new-key,{DEPLOYMENT_KEY}",
    )

    assert rotated.returncode == 0, rotated.stderr
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(migrated_database))
        credentials = await stripe_credentials(business_id, False, SecretBox(["a-brand-new-key"]))
    assert credentials is not None and credentials.secret_key == SECRET
